// SPDX-License-Identifier: GPL-2.0
/* The TC data plane: thin entry points over the subsystems in lib/. */
#include "lib/ingress.h"
#include "lib/egress.h"

SEC("tc")
int dfaas_ingress(struct __sk_buff *skb) {
    return handle_ingress(skb);
}

SEC("tc")
int dfaas_egress(struct __sk_buff *skb) {
    return handle_egress(skb);
}

char LICENSE[] SEC("license") = "GPL";
