// SPDX-License-Identifier: GPL-2.0
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "dfaas/abi.h"

SEC("tc")
int dfaas_ingress(struct __sk_buff *skb) { return 0; }

char LICENSE[] SEC("license") = "GPL";
