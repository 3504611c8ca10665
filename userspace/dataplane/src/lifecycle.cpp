// Loading, attaching, replacing and detaching the programs; settings.
#include <arpa/inet.h>
#include <dirent.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <mutex>
#include <filesystem>
#include <tuple>

#include "dfaas/dataplane/dataplane.h"
#include "abi_upgrade.h"
#include "dfaas_tc.skel.h"
#include "maps.h"

namespace dfaas::dp {

namespace {

// Our filters in the clsact qdisc. Fixed so that a restarted loader finds and replaces them.
constexpr uint32_t kTcHandle = 0xdfaa;
constexpr uint32_t kTcPriority = 1;

const char *attach_point_name(bpf_tc_attach_point point) {
    return point == BPF_TC_INGRESS ? "ingress" : "egress";
}

void ensure_bpffs_dir(const std::string &dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error("create pin directory " + dir + ": " + ec.message(), ec.value());
    struct statfs fs {};
    if (statfs(dir.c_str(), &fs) != 0) throw Error(describe("statfs " + dir, errno), errno);
    if (static_cast<unsigned long>(fs.f_type) != BPF_FS_MAGIC)
        throw Error(dir +
                    " is not on a bpffs mount (mount -t bpf bpf <dir>, or choose a "
                    "directory under /sys/fs/bpf)");
}

// Capacity of a map already pinned under `dir` (0 = none pinned). A restarted loader with
// another configured size keeps the pinned table (and its connections): libbpf refuses to reuse
// a pinned map whose max_entries differs, which would stop the agent from starting at all.
uint32_t pinned_capacity(const std::string &dir, const char *name) {
    std::string path = dir + "/" + name;
    int fd = bpf_obj_get(path.c_str());
    if (fd < 0) return 0;
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    uint32_t capacity = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.max_entries : 0;
    close(fd);
    return capacity;
}

uint32_t interface_index(const std::string &iface, const char *doing) {
    unsigned idx = if_nametoindex(iface.c_str());
    if (idx == 0) throw Error(describe(std::string(doing) + " on " + iface, errno), errno);
    return idx;
}

uint16_t interface_mtu(const std::string &iface) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return 1500;
    ifreq req{};
    std::strncpy(req.ifr_name, iface.c_str(), IFNAMSIZ - 1);
    int rc = ioctl(sock, SIOCGIFMTU, &req);
    close(sock);
    return rc == 0 && req.ifr_mtu > 0 ? static_cast<uint16_t>(req.ifr_mtu) : 1500;
}

uint64_t unix_now_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

void fill_config(dfaas_config &cfg, const Settings &s) {
    cfg.abi_version = DFAAS_ABI_VERSION;
    cfg.node_addr = s.node.network();
    cfg.gateway_addr = s.gateway.addr.network();
    cfg.gateway_port = htons(s.gateway.port);
    cfg.reject_mode = s.reject_mode == RejectMode::Drop ? DFAAS_REJECT_DROP : DFAAS_REJECT_RST;
    cfg.forward_mode = DFAAS_FORWARD_ENCAP;
    cfg.mtu = s.mtu;
    cfg.syn_guard_rate = s.syn_guard_rate;
    cfg.ct_timeout_syn_ns = s.ct_timeout_syn.count();
    cfg.ct_timeout_established_ns = s.ct_timeout_established.count();
    cfg.ct_timeout_closing_ns = s.ct_timeout_closing.count();
    cfg.default_limit_in = s.default_limit_in;
    cfg.flags =
        (s.enabled ? DFAAS_CFG_F_ENABLED : 0) | (s.http_stats ? 0 : DFAAS_CFG_F_NO_HTTP_STATS);
}

void validate_settings(const Settings &s) {
    if (s.node.is_unspecified()) throw Error("settings: node address is required");
    if (s.gateway.addr.is_unspecified() || s.gateway.port == 0)
        throw Error("settings: gateway address:port is required");
    if (s.mtu != 0 && s.mtu < 576)
        throw Error("settings: mtu " + std::to_string(s.mtu) + " is below the IPv4 minimum of 576");
}

// Our filter at one attach point: the hook and the filter's identity (handle, priority) that
// attach, query and detach all address.
struct TcFilter {
    bpf_tc_hook hook{};
    bpf_tc_opts opts{};

    TcFilter(uint32_t ifindex, bpf_tc_attach_point point) {
        hook.sz = sizeof(hook);
        hook.ifindex = static_cast<int>(ifindex);
        hook.attach_point = point;
        opts.sz = sizeof(opts);
        opts.handle = kTcHandle;
        opts.priority = kTcPriority;
    }
};

void attach_program(uint32_t ifindex, const std::string &iface, bpf_tc_attach_point point,
                    int prog_fd) {
    TcFilter filter(ifindex, point);
    int err = bpf_tc_hook_create(&filter.hook);
    if (err && err != -EEXIST)
        throw Error(describe(std::string("create clsact on ") + iface, err), err);
    filter.opts.prog_fd = prog_fd;
    filter.opts.flags = BPF_TC_F_REPLACE;  // atomic swap when our filter is already there
    err = bpf_tc_attach(&filter.hook, &filter.opts);
    if (err)
        throw Error(
            describe(std::string("attach tc ") + attach_point_name(point) + " on " + iface, err),
            err);
}

uint32_t attached_prog_id(uint32_t ifindex, bpf_tc_attach_point point) {
    TcFilter filter(ifindex, point);
    if (bpf_tc_query(&filter.hook, &filter.opts) != 0) return 0;
    return filter.opts.prog_id;
}

void detach_program(uint32_t ifindex, bpf_tc_attach_point point) {
    TcFilter filter(ifindex, point);
    bpf_tc_detach(&filter.hook, &filter.opts);  // ENOENT (already gone, interface deleted) is fine
}

void install_libbpf_logging();

// Set while find_attachments queries every interface: most have no clsact or no filter of
// ours, and libbpf would log the kernel's answer to each query.
thread_local bool scanning_interfaces = false;

uint32_t map_id(int map_fd) {
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    return bpf_obj_get_info_by_fd(map_fd, &info, &len) == 0 ? info.id : 0;
}

// Whether program `prog_id` uses the map `config_id`: a program of this pin set (another pin
// directory in the same network namespace has its own dfaas_config).
bool program_uses_map(uint32_t prog_id, uint32_t config_id) {
    int fd = bpf_prog_get_fd_by_id(prog_id);
    if (fd < 0) return false;
    uint32_t ids[64] = {};
    bpf_prog_info info{};
    info.nr_map_ids = 64;
    info.map_ids = reinterpret_cast<uint64_t>(ids);
    uint32_t len = sizeof(info);
    bool uses = false;
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
        for (uint32_t i = 0; i < std::min<uint32_t>(info.nr_map_ids, 64); i++)
            uses = uses || ids[i] == config_id;
    close(fd);
    return uses;
}

// Every interface of this network namespace holding our filter with a program of the pin set
// whose dfaas_config is `config_fd`. Found rather than recorded: dfaas_config has room for one
// ifindex (the uplink), and a scan also finds what an earlier attach left on an interface.
std::vector<InterfaceAttachment> find_attachments(int config_fd, uint32_t uplink_ifindex) {
    std::vector<InterfaceAttachment> found;
    uint32_t config_id = map_id(config_fd);
    if (config_id == 0) return found;
    struct if_nameindex *all = if_nameindex();
    if (!all) return found;
    install_libbpf_logging();  // status() of a Dataplane::open: libbpf's default would print
    scanning_interfaces = true;
    for (struct if_nameindex *i = all; i->if_index != 0; i++) {
        InterfaceAttachment a;
        a.name = i->if_name;
        a.ifindex = i->if_index;
        a.uplink = a.ifindex == uplink_ifindex;
        a.ingress_prog_id = attached_prog_id(a.ifindex, BPF_TC_INGRESS);
        a.egress_prog_id = attached_prog_id(a.ifindex, BPF_TC_EGRESS);
        if (a.ingress_prog_id && !program_uses_map(a.ingress_prog_id, config_id))
            a.ingress_prog_id = 0;
        if (a.egress_prog_id && !program_uses_map(a.egress_prog_id, config_id))
            a.egress_prog_id = 0;
        if (a.ingress_prog_id || a.egress_prog_id) found.push_back(a);
    }
    scanning_interfaces = false;
    if_freenameindex(all);
    return found;
}

// The uplink and the client interfaces, checked before anything changes: at most
// kMaxInterfaces, no duplicate, each one existing here.
std::vector<std::pair<std::string, uint32_t>> checked_interfaces(const AttachOptions &opts) {
    std::vector<std::string> names{opts.interface};
    names.insert(names.end(), opts.client_interfaces.begin(), opts.client_interfaces.end());
    if (names.size() > kMaxInterfaces)
        throw Error("interfaces: " + std::to_string(names.size()) + " named, at most " +
                    std::to_string(kMaxInterfaces));
    std::vector<std::pair<std::string, uint32_t>> checked;
    for (const auto &name : names) {
        for (const auto &[seen, idx] : checked)
            if (seen == name) throw Error("interfaces: " + name + " is named twice");
        checked.emplace_back(name, interface_index(name, "attach tc ingress"));
    }
    return checked;
}

// Every map the object pins must be in Maps::pinned(): detach unpins only what that table names,
// so a missing entry would leave a pin (and its memory) behind after `dfaasctl dp detach`.
void check_map_table(const bpf_object *obj) {
    const bpf_map *map = nullptr;
    bpf_object__for_each_map(map, obj) {
        if (bpf_map__pin_path(map) != nullptr && Maps::find(bpf_map__name(map)) == nullptr)
            throw Error(std::string("map ") + bpf_map__name(map) +
                        " is pinned by the BPF object but missing from the loader's map table "
                        "(userspace/dataplane/src/maps.cpp)");
    }
}

std::function<void(LibbpfPrintLevel, const std::string &)> &log_sink() {
    static std::function<void(LibbpfPrintLevel, const std::string &)> sink =
        [](LibbpfPrintLevel level, const std::string &msg) {
            static const bool debug = std::getenv("DFAAS_LIBBPF_DEBUG") != nullptr;
            if (level == LibbpfPrintLevel::Warn || debug) std::fputs(msg.c_str(), stderr);
        };
    return sink;
}

int libbpf_print(enum libbpf_print_level level, const char *format, va_list args) {
    char buf[4096];
    vsnprintf(buf, sizeof(buf), format, args);
    std::string msg(buf);
    // bpf_tc_hook_create on an interface that already has clsact: expected, handled.
    if (msg.find("Exclusivity flag on") != std::string::npos) return 0;
    if (scanning_interfaces) return 0;  // queries of interfaces without our filter: expected
    LibbpfPrintLevel l = level == LIBBPF_WARN   ? LibbpfPrintLevel::Warn
                         : level == LIBBPF_INFO ? LibbpfPrintLevel::Info
                                                : LibbpfPrintLevel::Debug;
    log_sink()(l, msg);
    return 0;
}

void install_libbpf_logging() {
    static std::once_flag once;
    std::call_once(once, [] { libbpf_set_print(libbpf_print); });
}

struct SkeletonDeleter {
    void operator()(dfaas_tc *skel) const { dfaas_tc__destroy(skel); }
};

}  // namespace

void set_libbpf_log_sink(std::function<void(LibbpfPrintLevel, const std::string &)> sink) {
    install_libbpf_logging();
    log_sink() = std::move(sink);
}

std::unique_ptr<Dataplane> Dataplane::attach(const AttachOptions &opts) {
    install_libbpf_logging();
    validate_settings(opts.settings);
    const auto interfaces = checked_interfaces(opts);
    const uint32_t ifindex = interfaces.front().second;  // the uplink
    ensure_bpffs_dir(opts.bpffs);
    abi::check_pinned_version(opts.bpffs);

    LIBBPF_OPTS(bpf_object_open_opts, open_opts, .pin_root_path = opts.bpffs.c_str());
    std::unique_ptr<dfaas_tc, SkeletonDeleter> skel(dfaas_tc__open_opts(&open_opts));
    if (!skel) throw Error(describe("open BPF object", errno), errno);
    check_map_table(skel->obj);
    if (opts.ct_entries == 0 || opts.ct_half_open_entries == 0)
        throw Error("conntrack sizes must be positive (established " +
                    std::to_string(opts.ct_entries) + ", half-open " +
                    std::to_string(opts.ct_half_open_entries) + ")");
    // Each gateway-side index is as large as the table it points into (bpf/lib/maps.h).
    for (auto [map, index, name, wanted] :
         {std::tuple{skel->maps.dfaas_ct, skel->maps.dfaas_ct_gw, "dfaas_ct", opts.ct_entries},
          std::tuple{skel->maps.dfaas_ct_half_open, skel->maps.dfaas_ct_gw_half_open,
                     "dfaas_ct_half_open", opts.ct_half_open_entries}}) {
        uint32_t size = wanted;
        if (uint32_t pinned = pinned_capacity(opts.bpffs, name); pinned && pinned != wanted) {
            log_sink()(LibbpfPrintLevel::Warn,
                       std::string(name) + ": keeping the pinned table of " +
                           std::to_string(pinned) + " entries (configured " +
                           std::to_string(wanted) +
                           "; detach to resize, which resets connections)\n");
            size = pinned;
        }
        if (bpf_map__set_max_entries(map, size) || bpf_map__set_max_entries(index, size))
            throw Error(std::string(name) + " size " + std::to_string(size) + " rejected");
    }
    // Upgrade in place (docs/architecture.md, "ABI version rule"): pinned maps that match are
    // reused, maps of the previous ABI are migrated into new maps, anything else is refused
    // here, naming the map, before anything changes.
    auto upgrade = abi::PinnedUpgrade::prepare(skel->obj);
    // libbpf reuses every compatible map pinned under pin_root_path and pins the others.
    if (int err = dfaas_tc__load(skel.get()))
        throw Error(describe("load BPF programs (pinned maps under " + opts.bpffs +
                                 " incompatible, or the verifier refused; see the log above)",
                             err),
                    err);

    // Settings before attaching: the first packet must already see them.
    int cfg_fd = bpf_map__fd(skel->maps.dfaas_config);
    uint32_t zero = 0;
    dfaas_config cfg{};
    map_lookup(cfg_fd, zero, cfg);
    const uint32_t pinned_abi = cfg.abi_version;
    Settings settings = opts.settings;
    if (settings.mtu == 0) settings.mtu = interface_mtu(opts.interface);
    fill_config(cfg, settings);
    // Readers (Dataplane::open) trust abi_version: it names this binary's ABI only once the
    // migrated maps are pinned, below.
    if (!upgrade.empty()) cfg.abi_version = pinned_abi;
    cfg.ifindex = ifindex;
    if (cfg.attached_unix_ns == 0) cfg.attached_unix_ns = unix_now_ns();
    if (cfg.hash_seed == 0 && getrandom(&cfg.hash_seed, sizeof(cfg.hash_seed), 0) < 0)
        cfg.hash_seed = unix_now_ns();
    map_update(cfg_fd, zero, cfg, BPF_ANY, "write data-plane settings");

    // Migrated counters are copied last, so only the few milliseconds until the swap are lost;
    // conntrack, policies and windows are reused as they are and lose nothing.
    upgrade.copy_state();
    for (const auto &[name, idx] : interfaces) {
        attach_program(idx, name, BPF_TC_INGRESS, bpf_program__fd(skel->progs.dfaas_ingress));
        attach_program(idx, name, BPF_TC_EGRESS, bpf_program__fd(skel->progs.dfaas_egress));
    }
    // An interface dropped from the list since the last attach keeps no program of ours.
    for (const auto &a : find_attachments(cfg_fd, ifindex)) {
        bool listed = false;
        for (const auto &[name, idx] : interfaces)
            listed = listed || idx == a.ifindex;
        if (listed) continue;
        detach_program(a.ifindex, BPF_TC_INGRESS);
        detach_program(a.ifindex, BPF_TC_EGRESS);
    }
    // Pins last: until here a failure leaves the old maps pinned, and the next attach migrates
    // them again.
    upgrade.repin();
    if (!upgrade.empty()) {
        cfg.abi_version = DFAAS_ABI_VERSION;
        map_update(cfg_fd, zero, cfg, BPF_ANY, "write the ABI version after the upgrade");
        log_sink()(LibbpfPrintLevel::Warn,
                   "upgraded in place; migrated " + upgrade.summary() + " from the previous ABI\n");
    }
    // The filters hold the programs and the pins hold the maps: the skeleton can go.
    skel.reset();
    return open(opts.bpffs);
}

std::unique_ptr<Dataplane> Dataplane::open(const std::string &bpffs) {
    auto maps = Maps::open_pinned(bpffs);
    // Reading or writing maps of another layout would misplace values (a stats row of ABI 2 is
    // not where ABI 3 looks): only attach, which migrates, may touch them.
    uint32_t zero = 0;
    dfaas_config cfg{};
    if (map_lookup(maps->config, zero, cfg) && cfg.abi_version != 0 &&
        cfg.abi_version != DFAAS_ABI_VERSION)
        throw Error("maps pinned under " + bpffs + " have ABI version " +
                    std::to_string(cfg.abi_version) + ", this binary reads " +
                    std::to_string(DFAAS_ABI_VERSION) +
                    ": use the binary that attached them, or attach with this one first "
                    "(restart the agent or `dfaasctl dp attach`; upgrades in place)");
    return std::unique_ptr<Dataplane>(new Dataplane(std::move(maps), bpffs));
}

bool Dataplane::detach(const std::string &bpffs) {
    install_libbpf_logging();
    std::string cfg_path = bpffs + "/dfaas_config";
    int fd = bpf_obj_get(cfg_path.c_str());
    if (fd < 0 && errno == ENOENT) return false;
    if (fd >= 0) {
        uint32_t zero = 0;
        dfaas_config cfg{};
        map_lookup(fd, zero, cfg);
        for (const auto &a : find_attachments(fd, cfg.ifindex)) {
            detach_program(a.ifindex, BPF_TC_INGRESS);
            detach_program(a.ifindex, BPF_TC_EGRESS);
        }
        if (cfg.ifindex) {  // the recorded uplink, whichever program holds our filter there
            detach_program(cfg.ifindex, BPF_TC_INGRESS);
            detach_program(cfg.ifindex, BPF_TC_EGRESS);
        }
        close(fd);
    }
    for (const auto &entry : Maps::pinned()) {
        std::string path = bpffs + "/" + entry.name;
        if (unlink(path.c_str()) != 0 && errno != ENOENT)
            throw Error(describe("unpin " + path, errno), errno);
    }
    rmdir(bpffs.c_str());  // only when empty: never remove what others pinned there
    return true;
}

Dataplane::Dataplane(std::unique_ptr<Maps> maps, std::string bpffs)
    : maps_(std::move(maps)), bpffs_(std::move(bpffs)) {}

Dataplane::~Dataplane() = default;

Settings Dataplane::settings() const {
    uint32_t zero = 0;
    dfaas_config cfg{};
    if (!map_lookup(maps_->config, zero, cfg))
        throw Error(describe("read data-plane settings", errno), errno);
    Settings s;
    s.node = Ipv4::from_network(cfg.node_addr);
    s.gateway = Endpoint{Ipv4::from_network(cfg.gateway_addr), ntohs(cfg.gateway_port)};
    s.reject_mode = cfg.reject_mode == DFAAS_REJECT_DROP ? RejectMode::Drop : RejectMode::Rst;
    s.mtu = cfg.mtu;
    s.syn_guard_rate = cfg.syn_guard_rate;
    s.ct_timeout_syn = Nanoseconds(cfg.ct_timeout_syn_ns);
    s.ct_timeout_established = Nanoseconds(cfg.ct_timeout_established_ns);
    s.ct_timeout_closing = Nanoseconds(cfg.ct_timeout_closing_ns);
    s.default_limit_in = cfg.default_limit_in;
    s.enabled = cfg.flags & DFAAS_CFG_F_ENABLED;
    s.http_stats = !(cfg.flags & DFAAS_CFG_F_NO_HTTP_STATS);
    return s;
}

void Dataplane::update_settings(const Settings &settings) {
    validate_settings(settings);
    uint32_t zero = 0;
    dfaas_config cfg{};
    if (!map_lookup(maps_->config, zero, cfg))
        throw Error(describe("read data-plane settings", errno), errno);
    Settings s = settings;
    if (s.mtu == 0) s.mtu = cfg.mtu;
    fill_config(cfg, s);
    map_update(maps_->config, zero, cfg, BPF_ANY, "write data-plane settings");
}

Status Dataplane::status() const {
    uint32_t zero = 0;
    dfaas_config cfg{};
    map_lookup(maps_->config, zero, cfg);
    Status st;
    st.bpffs = bpffs_;
    st.abi_version = cfg.abi_version;
    st.ifindex = cfg.ifindex;
    char name[IF_NAMESIZE] = {};
    if (cfg.ifindex && if_indextoname(cfg.ifindex, name)) st.interface = name;
    st.ingress_prog_id = cfg.ifindex ? attached_prog_id(cfg.ifindex, BPF_TC_INGRESS) : 0;
    st.egress_prog_id = cfg.ifindex ? attached_prog_id(cfg.ifindex, BPF_TC_EGRESS) : 0;
    st.ingress_attached = st.ingress_prog_id != 0;
    st.egress_attached = st.egress_prog_id != 0;
    st.attached_unix_ns = cfg.attached_unix_ns;
    st.interfaces = find_attachments(maps_->config, cfg.ifindex);
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(maps_->ct, &info, &len) == 0) st.ct_capacity = info.max_entries;
    info = {};
    len = sizeof(info);
    if (bpf_obj_get_info_by_fd(maps_->ct_half_open, &info, &len) == 0)
        st.ct_half_open_capacity = info.max_entries;
    st.settings = settings();
    return st;
}

}  // namespace dfaas::dp
