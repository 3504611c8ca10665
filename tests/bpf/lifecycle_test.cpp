// Attach, replace, reuse of pinned maps across a restart, detach; errors that name the problem.
#include <sys/stat.h>

#include "harness.h"

namespace dfaas::test {
namespace {

class Lifecycle : public DataplaneTest {};

TEST_F(Lifecycle, ReattachReplacesProgramsAndKeepsMapsCountersAndConnections) {
    install_figlet(FunctionPolicy::all_local());
    auto syn = user_syn();
    ingress(syn.frame());
    auto before = dp().status();

    // A restarted (or upgraded) loader: attach again over the same pins.
    dp::AttachOptions opts;
    opts.interface = "dp0";
    opts.bpffs = bpffs();
    opts.ct_entries = 64 * 1024;
    opts.settings = default_settings();
    auto again = dp::Dataplane::attach(opts);
    auto after = again->status();
    EXPECT_TRUE(after.ingress_attached);
    EXPECT_NE(after.ingress_prog_id, before.ingress_prog_id) << "new program in place";
    EXPECT_EQ(after.attached_unix_ns, before.attached_unix_ns) << "first attach time kept";

    EXPECT_EQ(again->stats().function("figlet")->local.connections, 1u) << "counters kept";
    EXPECT_TRUE(again->policy("figlet")) << "policy kept";
    // The established connection continues on its path through the new program.
    auto st = again->status();
    int fd = bpf_prog_get_fd_by_id(st.ingress_prog_id);
    ASSERT_GE(fd, 0);
    auto data = syn;
    data.flags = kAck;
    data.tcp_options.clear();
    auto frame = data.frame();
    Bytes out(frame.size() + 64);
    __sk_buff ctx{};
    ctx.ifindex = environment().ifindex;
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame.data(), .data_out = out.data(),
                .data_size_in = uint32_t(frame.size()), .data_size_out = uint32_t(out.size()),
                .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
    ASSERT_EQ(bpf_prog_test_run_opts(fd, &o), 0);
    close(fd);
    out.resize(o.data_size_out);
    EXPECT_EQ(parse(out).ip.dst, kGateway.addr);
    EXPECT_EQ(again->stats().reason("pass_ct_miss_midflow"), 0u);
}

TEST_F(Lifecycle, DetachRemovesProgramsAndPins) {
    EXPECT_TRUE(dp::Dataplane::detach(bpffs()));
    struct stat st {};
    EXPECT_NE(stat((bpffs() + "/dfaas_ct").c_str(), &st), 0);
    EXPECT_NE(stat(bpffs().c_str(), &st), 0) << "the empty pin directory is removed";
    EXPECT_FALSE(dp::Dataplane::detach(bpffs())) << "second detach: nothing to do";
    EXPECT_THROW(dp::Dataplane::open(bpffs()), dp::Error);
}

TEST_F(Lifecycle, AttachToAMissingInterfaceNamesIt) {
    dp::AttachOptions opts;
    opts.interface = "nosuch0";
    opts.bpffs = bpffs() + "-other";
    opts.settings = default_settings();
    try {
        dp::Dataplane::attach(opts);
        FAIL() << "expected an error";
    } catch (const dp::Error &e) {
        EXPECT_EQ(std::string(e.what()), "attach tc ingress on nosuch0: No such device");
    }
}

TEST_F(Lifecycle, PinDirectoryOutsideBpffsIsRefused) {
    dp::AttachOptions opts;
    opts.interface = "dp0";
    opts.bpffs = "/tmp/dfaas-not-bpffs";
    opts.settings = default_settings();
    try {
        dp::Dataplane::attach(opts);
        FAIL() << "expected an error";
    } catch (const dp::Error &e) {
        EXPECT_NE(std::string(e.what()).find("not on a bpffs mount"), std::string::npos);
    }
    rmdir("/tmp/dfaas-not-bpffs");
}

TEST_F(Lifecycle, PinnedMapsOfAnotherAbiAreRefused) {
    // Pretend the pinned maps were written by an older binary.
    auto cfg_fd = bpf_obj_get((bpffs() + "/dfaas_config").c_str());
    ASSERT_GE(cfg_fd, 0);
    uint32_t key = 0;
    dfaas_config cfg{};
    ASSERT_EQ(bpf_map_lookup_elem(cfg_fd, &key, &cfg), 0);
    cfg.abi_version = DFAAS_ABI_VERSION + 41;
    ASSERT_EQ(bpf_map_update_elem(cfg_fd, &key, &cfg, BPF_ANY), 0);
    close(cfg_fd);
    dp::AttachOptions opts;
    opts.interface = "dp0";
    opts.bpffs = bpffs();
    opts.settings = default_settings();
    try {
        dp::Dataplane::attach(opts);
        FAIL() << "expected an error";
    } catch (const dp::Error &e) {
        EXPECT_NE(std::string(e.what()).find("ABI version"), std::string::npos) << e.what();
    }
}

TEST_F(Lifecycle, InvalidSettingsAreRefused) {
    auto s = default_settings();
    s.gateway.port = 0;
    EXPECT_THROW(dp().update_settings(s), dp::Error);
    s = default_settings();
    s.mtu = 100;
    EXPECT_THROW(dp().update_settings(s), dp::Error);
}

TEST_F(Lifecycle, FunctionIdsAreReusedWithCleanCounters) {
    install_figlet(FunctionPolicy::all_local());
    ingress(user_syn().frame());
    auto id = *dp().function_id("figlet");
    dp().remove_function("figlet");
    EXPECT_TRUE(dp().services().empty());
    EXPECT_EQ(dp().ensure_function("shasum"), id);
    auto st = dp().stats().function("shasum");
    ASSERT_NE(st, nullptr);
    EXPECT_EQ(st->local.connections, 0u);
    EXPECT_FALSE(dp().policy("shasum"));
}

TEST_F(Lifecycle, ServicesRoundTrip) {
    dp().set_service(dp::Service{kNode, 31001, "a", true});
    dp().set_service(dp::Service{kPeerB, 31500, "a", false});
    auto list = dp().services();
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0], (dp::Service{kNode, 31001, "a", true}));
    EXPECT_EQ(list[1], (dp::Service{kPeerB, 31500, "a", false}));
    EXPECT_TRUE(dp().delete_service(kNode, 31001));
    EXPECT_FALSE(dp().delete_service(kNode, 31001));
}

}  // namespace
}  // namespace dfaas::test
