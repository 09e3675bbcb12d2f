// net-bridge: the files of each network stack, the notes on what else stands in the way,
// plan/apply/undo, and the session that shows the plan but applies it only when asked.
#include "fixers/net_bridge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "fixers/session.h"
#include "tests/fixers/vfio_fixers_test_util.h"

namespace vmprep {
namespace {

using fixers_test::Machine;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr std::string_view kWants = "/etc/systemd/system/multi-user.target.wants/";

FixerOptions Bridge(std::string name = "br0", std::string iface = "eth0") {
  FixerOptions o;
  o.net_bridge = FixerOptions::NetBridge{std::move(name), std::move(iface)};
  return o;
}

TEST(NetBridgeFixer, NetworkManagerKeyfilesApplyPlanAgainAndUndo) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.Put(std::string(kWants) + "NetworkManager.service", "");
  Host host = m.OpenHost();
  auto plan = MakeNetBridgeFixer()->Plan(host, Bridge());
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->edits.size(), 2u);
  EXPECT_EQ(plan->edits[0].path, "/etc/NetworkManager/system-connections/vmprep-br0.nmconnection");
  EXPECT_EQ(plan->edits[0].mode, 0600u);
  EXPECT_EQ(*plan->edits[1].after,
            "[connection]\nid=vmprep-br0-port-eth0\ntype=ethernet\ninterface-name=eth0\n"
            "master=br0\nslave-type=bridge\n");
  ASSERT_EQ(plan->actions.size(), 1u);
  EXPECT_EQ(plan->actions[0].argv, (std::vector<std::string>{"nmcli", "connection", "reload"}));
  std::string id = fixers_test::Apply(host, *plan);
  auto again = MakeNetBridgeFixer()->Plan(host, Bridge());
  ASSERT_TRUE(again.has_value());
  EXPECT_TRUE(again->empty());
  fixers_test::Undo(host, id);
  EXPECT_FALSE(m.Has("/etc/NetworkManager/system-connections/vmprep-br0.nmconnection"));
}

TEST(NetBridgeFixer, NetworkdFilesAndAnEarlierMatchIsNamed) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.Put(std::string(kWants) + "systemd-networkd.service", "");
  m.Put("/etc/systemd/network/05-wired.network", "[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n");
  auto plan = MakeNetBridgeFixer()->Plan(m.OpenHost(), Bridge());
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->edits.size(), 3u);
  EXPECT_EQ(*plan->edits[0].after, "[NetDev]\nName=br0\nKind=bridge\n");
  EXPECT_EQ(*plan->edits[2].after, "[Match]\nName=eth0\n\n[Network]\nBridge=br0\n");
  EXPECT_THAT(plan->notes, Contains(HasSubstr("/etc/systemd/network/05-wired.network matches")));
}

TEST(NetBridgeFixer, IfupdownStanzaAndWhatTheMainFileStillNeeds) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.Put("/etc/network/interfaces",
        "auto lo\niface lo inet loopback\n\nallow-hotplug eth0\n"
        "iface eth0 inet dhcp\n");
  auto plan = MakeNetBridgeFixer()->Plan(m.OpenHost(), Bridge());
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  ASSERT_EQ(plan->edits.size(), 1u);
  EXPECT_EQ(plan->edits[0].path, "/etc/network/interfaces.d/vmprep-br0");
  EXPECT_THAT(*plan->edits[0].after, HasSubstr("    bridge_ports eth0\n"));
  EXPECT_THAT(plan->notes, Contains(HasSubstr("`iface eth0 inet manual`")));
  EXPECT_THAT(plan->notes, Contains(HasSubstr("source /etc/network/interfaces.d/*")));
  EXPECT_THAT(plan->notes, Contains(HasSubstr("bridge-utils")));
}

TEST(NetBridgeFixer, RefusesWithoutAStackOrAnInterface) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  auto none = MakeNetBridgeFixer()->Plan(m.OpenHost(), Bridge());
  ASSERT_FALSE(none.has_value());
  EXPECT_THAT(none.error().message, HasSubstr("no network stack"));
  m.Put(std::string(kWants) + "NetworkManager.service", "");
  auto missing = MakeNetBridgeFixer()->Plan(m.OpenHost(), Bridge("br0", "enp9s0"));
  ASSERT_FALSE(missing.has_value());
  EXPECT_THAT(missing.error().message, HasSubstr("no network interface enp9s0"));
  EXPECT_FALSE(ParseRequestArgs({"--enable", "bridge=br0:br0"}).has_value());
}

TEST(NetBridgeSession, PlanWarnsApplyNeedsToBeAsked) {
  Machine m("intel-iommu");
  ASSERT_TRUE(m.ok());
  m.Put(std::string(kWants) + "NetworkManager.service", "");
  Host host = m.OpenHost();
  auto request = ParseRequestArgs({"--enable", "bridge=br0:eth0"});
  ASSERT_TRUE(request.has_value()) << request.error().ToString();
  EXPECT_EQ(request->options.bridges, std::vector<std::string>{"br0"});
  SessionPlan plan = MakePlan(host, *request);
  EXPECT_TRUE(plan.refusals.empty());
  EXPECT_THAT(plan.warnings, Contains(HasSubstr("eth0 carries this host's default route")));
  ApplyOptions options{.regenerate = false};
  SessionResult refused = Apply(host, *request, options);
  EXPECT_EQ(refused.outcome, Outcome::kRefused);
  EXPECT_FALSE(m.Has("/etc/NetworkManager/system-connections/vmprep-br0.nmconnection"));
  request->options.allow_network_change = true;
  SessionResult done = Apply(host, *request, options);
  EXPECT_EQ(done.outcome, Outcome::kDone);
  EXPECT_TRUE(m.Has("/etc/NetworkManager/system-connections/vmprep-br0.nmconnection"));
  EXPECT_TRUE(m.Has("/etc/qemu/bridge.conf"));
}

}  // namespace
}  // namespace vmprep
