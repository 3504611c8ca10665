// dfaas-helm-render: renders a Helm chart the way `helm template` does, for machines without helm.
//
// It uses the same engine as Helm: Go's text/template with the sprig function library (minus
// env/expandenv, as in Helm) plus Helm's own functions (include, tpl, required, toYaml, fromYaml,
// toJson, fromJson, lookup). Values are read like Helm reads them (YAML through JSON, so numbers
// are float64), merged over the chart's values.yaml in order (-f files, then --set), and the
// built-in objects .Values .Release .Chart .Capabilities .Template are provided. Output is the
// rendered manifests, each under "# Source: <chart>/templates/<file>", sorted by kind in Helm's
// install order; partials (_*.tpl) are not printed, nor NOTES.txt unless asked for with
// --show-only templates/NOTES.txt (then it alone is printed, as helm install shows it).
// values.schema.json is not checked here: --print-values prints the merged values Helm checks
// against it, and deploy/render.sh validates them (python3-jsonschema) before rendering, as Helm.
//
// .Files.Get reads a file of the chart (as Helm: "" when missing; symlinks are followed, as
// `helm package` does). Not supported (the DFaaS chart does not use them): subcharts, the other
// .Files methods, hooks, lookup against a cluster (it returns an empty map, as in `helm template`).
//
// Built from Debian packages only (golang-go, golang-github-masterminds-sprig-dev,
// golang-gopkg-yaml.v2-dev) in GOPATH mode: see deploy/render.sh.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	sprig "github.com/Masterminds/sprig"
	yaml "gopkg.in/yaml.v2"
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// Helm's install order (pkg/releaseutil/kind_sorter.go), for the kinds a chart may hold.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
	"PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
	"ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
	"CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
	"ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
	"DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
	"APIService",
}

func kindRank(kind string) int {
	for i, k := range installOrder {
		if k == kind {
			return i
		}
	}
	return len(installOrder)
}

// readYAMLValues reads YAML the way Helm does (sigs.k8s.io/yaml: YAML -> JSON -> Go), so maps
// are map[string]interface{} and numbers float64.
func readYAMLValues(data []byte) (map[string]interface{}, error) {
	var raw interface{}
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return map[string]interface{}{}, nil
	}
	j, err := json.Marshal(jsonable(raw))
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := json.Unmarshal(j, &out); err != nil {
		return nil, fmt.Errorf("values must be a map: %v", err)
	}
	return out, nil
}

// jsonable turns yaml.v2's map[interface{}]interface{} into map[string]interface{}.
func jsonable(v interface{}) interface{} {
	switch t := v.(type) {
	case map[interface{}]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, val := range t {
			m[fmt.Sprint(k)] = jsonable(val)
		}
		return m
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, val := range t {
			out[i] = jsonable(val)
		}
		return out
	default:
		return v
	}
}

// mergeValues merges src over dst as Helm does for user values: maps merge recursively, other
// values replace, and a null in src deletes the key.
func mergeValues(dst, src map[string]interface{}) map[string]interface{} {
	for k, v := range src {
		if v == nil {
			delete(dst, k)
			continue
		}
		sm, sok := v.(map[string]interface{})
		dm, dok := dst[k].(map[string]interface{})
		if sok && dok {
			dst[k] = mergeValues(dm, sm)
		} else {
			dst[k] = v
		}
	}
	return dst
}

// typedSetValue types one --set value as Helm does: true, false, null, 64-bit integers; anything
// else (floats included) stays a string.
func typedSetValue(raw string) interface{} {
	switch raw {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if i, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return i
	}
	return raw
}

// setValue applies one --set path=value: a scalar (typed by typedSetValue) or a list {a,b}. Not
// supported: several assignments separated by commas, escapes, list indexes (a[0]=x).
func setValue(values map[string]interface{}, expr string) error {
	eq := strings.Index(expr, "=")
	if eq <= 0 {
		return fmt.Errorf("--set %q: expected path=value", expr)
	}
	keys := strings.Split(expr[:eq], ".")
	raw := expr[eq+1:]
	var val interface{}
	if strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}") {
		// A list, as Helm's --set writes one: {a,b}; {} is an empty list.
		list := []interface{}{}
		if inner := raw[1 : len(raw)-1]; inner != "" {
			for _, item := range strings.Split(inner, ",") {
				list = append(list, typedSetValue(item))
			}
		}
		val = list
	} else {
		val = typedSetValue(raw)
	}
	m := values
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			m[k] = next
		}
		m = next
	}
	last := keys[len(keys)-1]
	if val == nil {
		delete(m, last)
	} else {
		m[last] = val
	}
	return nil
}

func toYAML(v interface{}) string {
	// As sigs.k8s.io/yaml: through JSON, then YAML with sorted keys; Helm trims the last newline.
	j, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	var generic interface{}
	if err := json.Unmarshal(j, &generic); err != nil {
		return ""
	}
	out, err := yaml.Marshal(generic)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(string(out), "\n")
}

func fromYAML(s string) map[string]interface{} {
	m, err := readYAMLValues([]byte(s))
	if err != nil {
		return map[string]interface{}{"Error": err.Error()}
	}
	return m
}

func toJSON(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func fromJSON(s string) map[string]interface{} {
	m := map[string]interface{}{}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		m["Error"] = err.Error()
	}
	return m
}

type chartMeta struct {
	APIVersion  string `yaml:"apiVersion"`
	Name        string `yaml:"name"`
	Version     string `yaml:"version"`
	AppVersion  string `yaml:"appVersion"`
	Description string `yaml:"description"`
	Type        string `yaml:"type"`
	KubeVersion string `yaml:"kubeVersion"`
}

type manifest struct {
	source string
	index  int
	kind   string
	body   string
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

func run() error {
	var valueFiles, sets multiFlag
	chartDir := flag.String("chart", "", "chart directory (required)")
	release := flag.String("release", "dfaas", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	kubeVersion := flag.String("kube-version", "v1.32.0", "Kubernetes version for .Capabilities")
	output := flag.String("output", "", "write to this file instead of stdout")
	showOnly := flag.String("show-only", "", "print only this template (e.g. templates/configmap.yaml)")
	printValues := flag.Bool("print-values", false, "print the merged values as JSON (what Helm checks against values.schema.json) instead of rendering")
	flag.Var(&valueFiles, "f", "values file (repeatable; later files win)")
	flag.Var(&sets, "set", "path=value (repeatable; after the -f files)")
	flag.Parse()
	if *chartDir == "" {
		return errors.New("--chart is required")
	}

	metaBytes, err := os.ReadFile(filepath.Join(*chartDir, "Chart.yaml"))
	if err != nil {
		return err
	}
	var meta chartMeta
	if err := yaml.Unmarshal(metaBytes, &meta); err != nil {
		return fmt.Errorf("Chart.yaml: %v", err)
	}
	if meta.APIVersion != "v2" || meta.Name == "" || meta.Version == "" {
		return errors.New("Chart.yaml: apiVersion v2, name and version are required")
	}

	valuesBytes, err := os.ReadFile(filepath.Join(*chartDir, "values.yaml"))
	if err != nil {
		return err
	}
	values, err := readYAMLValues(valuesBytes)
	if err != nil {
		return fmt.Errorf("values.yaml: %v", err)
	}
	for _, f := range valueFiles {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		user, err := readYAMLValues(b)
		if err != nil {
			return fmt.Errorf("%s: %v", f, err)
		}
		values = mergeValues(values, user)
	}
	for _, s := range sets {
		if err := setValue(values, s); err != nil {
			return err
		}
	}

	if *printValues {
		b, err := json.MarshalIndent(values, "", "  ")
		if err != nil {
			return fmt.Errorf("merged values: %v", err)
		}
		_, err = os.Stdout.Write(append(b, '\n'))
		return err
	}

	major, minor := "1", "32"
	if parts := strings.SplitN(strings.TrimPrefix(*kubeVersion, "v"), ".", 3); len(parts) >= 2 {
		major, minor = parts[0], parts[1]
	}
	top := map[string]interface{}{
		"Files":  chartFiles{root: *chartDir},
		"Values": values,
		"Release": map[string]interface{}{
			"Name": *release, "Namespace": *namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Chart": map[string]interface{}{
			"Name": meta.Name, "Version": meta.Version, "AppVersion": meta.AppVersion,
			"Description": meta.Description, "APIVersion": meta.APIVersion, "Type": meta.Type,
		},
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{
				"Version": *kubeVersion, "GitVersion": *kubeVersion, "Major": major, "Minor": minor,
			},
			"APIVersions": []string{"v1", "apps/v1", "batch/v1", "rbac.authorization.k8s.io/v1"},
		},
	}

	// Every file under templates/ joins one template set, named <chart>/templates/<rel>.
	tplDir := filepath.Join(*chartDir, "templates")
	var files []string
	err = filepath.Walk(tplDir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !info.IsDir() {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(files)

	root := template.New("gotpl")
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")
	includeDepth := 0
	funcs["include"] = func(name string, data interface{}) (string, error) {
		includeDepth++
		defer func() { includeDepth-- }()
		if includeDepth > 1000 {
			return "", fmt.Errorf("include %q: too deep", name)
		}
		var buf bytes.Buffer
		if err := root.ExecuteTemplate(&buf, name, data); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		t, err := root.Clone()
		if err != nil {
			return "", err
		}
		t, err = t.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return "", err
		}
		return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
	}
	funcs["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	funcs["toYaml"] = toYAML
	funcs["fromYaml"] = fromYAML
	funcs["toJson"] = toJSON
	funcs["fromJson"] = fromJSON
	funcs["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	root.Funcs(funcs).Option("missingkey=zero")

	names := map[string]string{}
	for _, f := range files {
		rel, _ := filepath.Rel(*chartDir, f)
		name := path.Join(meta.Name, filepath.ToSlash(rel))
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if _, err := root.New(name).Parse(string(b)); err != nil {
			return err
		}
		names[name] = filepath.ToSlash(rel)
	}

	var out []manifest
	for _, f := range files {
		rel, _ := filepath.Rel(*chartDir, f)
		rel = filepath.ToSlash(rel)
		base := path.Base(rel)
		if *showOnly != "" && rel != *showOnly {
			continue
		}
		notes := base == "NOTES.txt"
		if strings.HasPrefix(base, "_") || (notes && *showOnly == "") {
			continue
		}
		name := path.Join(meta.Name, rel)
		t := root.Lookup(name)
		data := map[string]interface{}{}
		for k, v := range top {
			data[k] = v
		}
		data["Template"] = map[string]interface{}{
			"Name": name, "BasePath": path.Join(meta.Name, "templates"),
		}
		var buf bytes.Buffer
		if err := t.Execute(&buf, data); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if notes {
			// As `helm install` prints it (only with --show-only templates/NOTES.txt here).
			_, err := os.Stdout.WriteString(text)
			return err
		}
		for i, doc := range docSep.Split(text, -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			var head struct {
				Kind string `yaml:"kind"`
			}
			if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
				return fmt.Errorf("%s: rendered YAML does not parse: %v\n%s", name, err, doc)
			}
			body := strings.TrimSpace(strings.TrimLeft(doc, "\n"))
			out = append(out, manifest{source: name, index: i, kind: head.Kind, body: body})
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		ra, rb := kindRank(out[a].kind), kindRank(out[b].kind)
		if ra != rb {
			return ra < rb
		}
		if out[a].source != out[b].source {
			return out[a].source < out[b].source
		}
		return out[a].index < out[b].index
	})

	var w bytes.Buffer
	for _, m := range out {
		fmt.Fprintf(&w, "---\n# Source: %s\n%s\n", m.source, m.body)
	}
	if *output == "" {
		_, err = os.Stdout.Write(w.Bytes())
		return err
	}
	return os.WriteFile(*output, w.Bytes(), 0o644)
}

// chartFiles is .Files: Get returns a chart file's content, "" for a missing file or a path
// leaving the chart (Helm's answer for files it did not load).
type chartFiles struct{ root string }

func (f chartFiles) Get(name string) string {
	clean := path.Clean("/" + filepath.ToSlash(name))
	b, err := os.ReadFile(filepath.Join(f.root, filepath.FromSlash(clean)))
	if err != nil {
		return ""
	}
	return string(b)
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dfaas-helm-render:", err)
		os.Exit(1)
	}
}
