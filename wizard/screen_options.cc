/// Options: iommu=pt (with its trade-off), vhost_net, huge pages (with the memory left and
/// vmcheck's limit), Xorg isolation when a chosen GPU has a second one beside it, a bridge.
/// Each says which files it touches: the session plans it alone and lists them.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "fixers/post_actions.h"
#include "system/hugepages.h"
#include "wizard/page.h"
#include "wizard/screens.h"

namespace vmprep::wizard {
namespace {

enum class Opt { kIommu, kIommuPt, kVhostNet, kHugepages, kXorg, kBridge };

struct OptionText {
  Opt opt;
  const char* name;
  const char* about;
};

constexpr OptionText kOptions[] = {
    {Opt::kIommu, "IOMMU on at boot",
     "Turns the IOMMU on at boot (intel_iommu=on on Intel; AMD's is on by default). Devices "
     "can only be given to VMs with it."},
    {Opt::kIommuPt, "iommu=pt (passthrough mode)",
     "Trade-off: the host's own devices skip DMA translation, so host disk and network I/O "
     "is faster, but those devices lose the IOMMU's protection against stray DMA. Devices "
     "given to VMs stay translated and isolated either way."},
    {Opt::kVhostNet, "vhost_net at boot",
     "Loads vhost_net at boot: the kernel moves the packets of virtio-net VMs instead of "
     "QEMU, faster and with less CPU. Without it, it loads on demand."},
    {Opt::kHugepages, "Huge pages",
     "Reserves memory as huge pages at boot for VM memory: fewer TLB misses, faster guests. "
     "The memory leaves the host at boot whether VMs use it or not."},
    {Opt::kXorg, "Xorg stays off the chosen GPU",
     "Keeps Xorg on the host's own GPU so it does not grab the GPU given to a VM. Needs a "
     "second GPU for the host's display."},
    {Opt::kBridge, "Bridge for VMs",
     "Lets QEMU's bridge helper attach VMs to a network bridge without root "
     "(/etc/qemu/bridge.conf)."},
};

const OptionText& TextOf(Opt opt) { return kOptions[static_cast<int>(opt)]; }

std::vector<Opt> Visible(const State& state) {
  std::vector<Opt> out;
  if (state.facts.readiness.no_iommu.empty()) out = {Opt::kIommu, Opt::kIommuPt};
  out.insert(out.end(), {Opt::kVhostNet, Opt::kHugepages});
  // Xorg isolation when a chosen GPU has another beside it to drive the host's display.
  auto sel = Selection(state.facts, state.choices.options.devices);
  auto chosen = [&](const PciDevice* d) {
    return std::any_of(sel->endpoints.begin(), sel->endpoints.end(),
                       [&](const PciDevice& e) { return e.address == d->address; });
  };
  if (sel && state.facts.scan) {
    auto displays = state.facts.scan->topology.Displays();
    if (std::any_of(displays.begin(), displays.end(), chosen) &&
        !std::all_of(displays.begin(), displays.end(), chosen))
      out.push_back(Opt::kXorg);
  }
  out.push_back(Opt::kBridge);
  return out;
}

bool IsOn(const FixerOptions& o, Opt opt) {
  switch (opt) {
    case Opt::kIommu:
      return o.iommu;
    case Opt::kIommuPt:
      return o.iommu_pt;
    case Opt::kVhostNet:
      return o.vhost_net;
    case Opt::kHugepages:
      return o.hugepages.has_value();
    case Opt::kXorg:
      return o.xorg;
    case Opt::kBridge:
      return !o.bridges.empty();
  }
  return false;
}

// The largest reservation the limit allows, halved: a starting point to edit.
std::string ProposedHugepages(const State& state) {
  const std::uint64_t total = state.facts.mem_total_kb.value_or(0);
  const std::uint64_t room =
      total > HugepageHostKeepKb(total) ? total - HugepageHostKeepKb(total) : 0;
  if (room / 2 >= kKbPerGiB) return fmt::format("1G:{}", room / 2 / kKbPerGiB);
  return fmt::format("2M:{}", std::max<std::uint64_t>(1, room / 2 / 2048));
}

std::vector<std::string> MemoryLines(const State& state) {
  const auto& total = state.facts.mem_total_kb;
  if (!total) {
    return {"Memory: unknown (" +
            (state.facts.mem_error ? state.facts.mem_error->ToString() : std::string("not read")) +
            ")"};
  }
  const std::uint64_t keep = HugepageHostKeepKb(*total);
  std::vector<std::string> out = {
      fmt::format("Memory: {} in all. vmcheck and vmsetup require a reservation to leave the "
                  "host at least {} (10% of it, and at least 2 GiB; half on machines with "
                  "less than 4 GiB).",
                  HumanKb(*total), HumanKb(keep))};
  if (const auto& h = state.choices.options.hugepages) {
    const std::uint64_t reserve = h->page_kb * h->count;
    out.push_back(fmt::format("Chosen: {} pages of {} = {}, leaving the host {}.", h->count,
                              HumanKb(h->page_kb), HumanKb(reserve),
                              reserve < *total ? HumanKb(*total - reserve) : "nothing"));
  }
  return out;
}

std::string Label(const State& state, Opt opt) {
  const FixerOptions& o = state.choices.options;
  std::string label = TextOf(opt).name;
  if (opt == Opt::kHugepages && o.hugepages) {
    label += fmt::format(": {} x {} = {}", o.hugepages->count, HumanKb(o.hugepages->page_kb),
                         HumanKb(o.hugepages->page_kb * o.hugepages->count));
  }
  if (opt == Opt::kBridge && !o.bridges.empty()) label += ": " + o.bridges.front();
  return Plain(fmt::format("[{}] {}", IsOn(o, opt) ? "x" : " ", label));
}

// The request that sets up `opt` alone (with the chosen devices for Xorg).
Request Alone(const State& state, Opt opt) {
  Request r;
  FixerOptions& o = r.options;
  const FixerOptions& c = state.choices.options;
  switch (opt) {
    case Opt::kIommu:
      o.iommu = true;
      break;
    case Opt::kIommuPt:
      o.iommu = o.iommu_pt = true;
      break;
    case Opt::kVhostNet:
      o.vhost_net = true;
      break;
    case Opt::kHugepages:
      o.hugepages = c.hugepages;
      if (auto p = ParseRequest({}, {"hugepages=" + ProposedHugepages(state)}, {});
          !o.hugepages && p)
        o.hugepages = p->options.hugepages;
      break;
    case Opt::kXorg:
      o.devices = c.devices;
      o.vfio = !c.devices.empty();
      o.xorg = true;
      break;
    case Opt::kBridge:
      o.bridges = c.bridges.empty() ? std::vector<std::string>{"br0"} : c.bridges;
      break;
  }
  return r;
}

// Which files setting up `opt` touches, as the session plans it; Xorg's beyond the devices'.
std::string Touches(const State& state, Opt opt, std::map<std::string, std::string>* cache) {
  Request request = Alone(state, opt);
  const std::string key = CommandLine("plan", request);
  if (auto it = cache->find(key); it != cache->end()) return it->second;
  SessionPlan plan = MakePlan(state.host, request);
  std::vector<std::string> already;
  if (opt == Opt::kXorg) {
    Request devices = request;
    devices.options.xorg = false;
    for (const FileEdit* e : EffectiveEdits(MakePlan(state.host, devices).edits))
      already.push_back(e->path);
  }
  std::string out;
  if (!plan.refusals.empty()) {
    out = "Cannot be planned here: " + plan.refusals.front().fixer + ": " +
          plan.refusals.front().error.ToString();
  } else {
    std::vector<std::string> files, runs;
    for (const FileEdit* e : EffectiveEdits(plan.edits)) {
      if (std::find(already.begin(), already.end(), e->path) == already.end())
        files.push_back(e->path);
    }
    for (const auto& a : plan.edits.actions) runs.push_back(FormatArgv(a.argv));
    out = files.empty() ? "Touches no file: this is already set up."
                        : fmt::format("Touches: {}", fmt::join(files, ", "));
    if (!runs.empty()) out += fmt::format("; then runs: {}", fmt::join(runs, ", "));
  }
  out += " (as `" + key + "`)";
  return cache->emplace(key, out).first->second;
}

// Asks for a value and checks it with vmsetup's own parser (and the huge page limit).
void Switch(Ui& ui, State& state, Opt opt) {
  FixerOptions& o = state.choices.options;
  const bool on = IsOn(o, opt);
  auto refused = [&](const std::string& why) { ui.Ask("Refused", {why}, {"OK"}); };
  switch (opt) {
    case Opt::kIommu:
      o.iommu = !on;
      if (on) o.iommu_pt = false;
      return;
    case Opt::kIommuPt:
      o.iommu_pt = !on;
      if (!on) o.iommu = true;
      return;
    case Opt::kVhostNet:
      o.vhost_net = !on;
      return;
    case Opt::kXorg:
      o.xorg = !on;
      return;
    case Opt::kHugepages:
    case Opt::kBridge:
      break;
  }
  if (on) {
    if (opt == Opt::kHugepages) o.hugepages.reset();
    if (opt == Opt::kBridge) o.bridges.clear();
    return;
  }
  const bool pages = opt == Opt::kHugepages;
  auto value = ui.Prompt(
      pages ? "Huge pages: SIZE:COUNT (SIZE 2M or 1G)" : "Bridge name",
      pages ? "Pages: " : "Bridge: ", pages ? ProposedHugepages(state) : std::string("br0"));
  if (!value) return;
  auto parsed = ParseRequest({}, {(pages ? "hugepages=" : "bridge=") + *value}, {});
  if (!parsed) return refused(parsed.error().message);
  if (pages) {
    const auto& h = *parsed->options.hugepages;
    if (state.facts.mem_total_kb) {
      if (auto problem = HugepageReservationProblem(h.page_kb * h.count, *state.facts.mem_total_kb))
        return refused(*problem);
    }
    o.hugepages = h;
  } else {
    o.bridges = parsed->options.bridges;
  }
}

}  // namespace

Step OptionsScreen(Ui& ui, State& state) {
  std::map<std::string, std::string> touches;
  Page page(ui, Title("Options", 4));
  page.SetIntro(
      {"Space switches an option (huge pages and the bridge ask for a value). Below: "
       "what it does, its trade-off and the files it touches."});
  std::vector<Opt> opts;
  auto detail = [&](int i) {
    Opt opt = opts[i];
    std::vector<std::string> lines = {TextOf(opt).about};
    if (opt == Opt::kHugepages) {
      for (auto& l : MemoryLines(state)) lines.push_back(std::move(l));
    }
    lines.push_back(Touches(state, opt, &touches));
    return lines;
  };
  page.SetDetail(detail);
  page.SetHelp([&](int i) {
    std::vector<std::string> lines = {
        "Each option is planned on its own to say which files it touches; the review then "
        "shows the diff of all of them together."};
    if (i >= 0) {
      for (auto& l : detail(i)) lines.push_back(std::move(l));
    }
    return lines;
  });
  page.SetButtons({"Next", "Back", "Quit"}, 0);
  page.SetKeys("Space switch  Enter review  Esc back  Tab pane  F1/? help  q quit");
  for (;;) {
    opts = Visible(state);
    if (std::find(opts.begin(), opts.end(), Opt::kXorg) == opts.end())
      state.choices.options.xorg = false;
    std::vector<std::string> items;
    for (Opt opt : opts) items.push_back(Label(state, opt));
    page.SetList("Options", items);
    PageEvent e = page.Run();
    if (e.kind == PageEvent::Kind::kQuit) return Step::kQuit;
    const Step back = state.facts.readiness.no_iommu.empty() ? Step::kDevices : Step::kScan;
    if (e.kind == PageEvent::Kind::kBack) return back;
    if (e.kind == PageEvent::Kind::kToggle) {
      Switch(ui, state, opts[e.item]);
      continue;
    }
    if (e.button == 0) return Step::kReview;
    return e.button == 1 ? back : Step::kQuit;
  }
}

}  // namespace vmprep::wizard
