// SPDX-License-Identifier: GPL-2.0
/* The entry port's splice (issue 18): a thin entry point over lib/splice.h. */
#include "lib/splice.h"

SEC("sk_skb/stream_parser")
int dfaas_entry_parser(struct __sk_buff *skb) {
    return splice_stream_parser(skb);
}

SEC("sk_skb/stream_verdict")
int dfaas_entry_verdict(struct __sk_buff *skb) {
    return splice_stream_verdict(skb);
}

char LICENSE[] SEC("license") = "GPL";
