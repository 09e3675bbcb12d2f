/// Domain XML through libxml2: no network, no external entities, no DTD loading.
#include "formats/libvirt_domain.h"

#include <fmt/format.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>

#include "core/text.h"

namespace vmprep {
namespace {

constexpr std::string_view kQemuNamespace = "http://libvirt.org/schemas/domain/qemu/1.0";

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
struct CtxtFree {
  void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};

std::string_view Name(const xmlNode* n) { return reinterpret_cast<const char*>(n->name); }

bool Is(const xmlNode* n, std::string_view name) {
  return n != nullptr && n->type == XML_ELEMENT_NODE && Name(n) == name;
}

std::vector<const xmlNode*> Children(const xmlNode* parent, std::string_view name) {
  std::vector<const xmlNode*> out;
  if (parent == nullptr) return out;
  for (const xmlNode* c = parent->children; c != nullptr; c = c->next)
    if (Is(c, name)) out.push_back(c);
  return out;
}

const xmlNode* Child(const xmlNode* parent, std::string_view name) {
  auto all = Children(parent, name);
  return all.empty() ? nullptr : all.front();
}

std::string Attr(const xmlNode* n, const char* name) {
  if (n == nullptr) return "";
  xmlChar* v = xmlGetProp(n, reinterpret_cast<const xmlChar*>(name));
  if (v == nullptr) return "";
  std::string s(reinterpret_cast<const char*>(v));
  xmlFree(v);
  return s;
}

std::string Content(const xmlNode* n) {
  if (n == nullptr) return "";
  xmlChar* v = xmlNodeGetContent(n);
  if (v == nullptr) return "";
  std::string s(Trim(reinterpret_cast<const char*>(v)));
  xmlFree(v);
  return s;
}

int Line(const xmlNode* n) { return static_cast<int>(xmlGetLineNo(n)); }

// Builds errors that name the file and the element's line.
struct Parser {
  std::string_view path;
  Error Fail(const xmlNode* n, std::string message) const {
    return Error{std::string(path), n ? Line(n) : 0, std::move(message), 0};
  }
  // A number in libvirt's notation: decimal, or hex with 0x.
  std::expected<std::uint32_t, Error> Number(const xmlNode* n, const char* attr) const {
    std::string text = Attr(n, attr);
    std::string_view digits = text;
    int base = 10;
    if (digits.starts_with("0x") || digits.starts_with("0X")) {
      digits.remove_prefix(2);
      base = 16;
    }
    std::uint32_t v = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v, base);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
      return std::unexpected(Fail(
          n, fmt::format("<{} {}='{}'>: expected a number such as 0x01", Name(n), attr, text)));
    return v;
  }
  std::expected<std::uint64_t, Error> Scaled(const xmlNode* n, std::string_view value,
                                             std::string_view default_unit) const {
    std::string unit = Attr(n, "unit");
    auto bytes = ScaledBytes(value, unit, default_unit);
    if (!bytes)
      return std::unexpected(Fail(
          n, fmt::format("<{}>: '{}' with unit '{}' is not a size libvirt reads (expected a number "
                         "and a unit such as KiB, M or G)",
                         Name(n), value, unit.empty() ? default_unit : unit)));
    return *bytes;
  }
};

std::expected<DomainPciAddress, Error> PciAddressOf(const Parser& p, const xmlNode* a) {
  DomainPciAddress out;
  auto domain = p.Number(a, "domain");
  auto bus = p.Number(a, "bus");
  auto slot = p.Number(a, "slot");
  auto function = p.Number(a, "function");
  // libvirt takes a missing domain as 0.
  if (Attr(a, "domain").empty()) domain = 0u;
  for (const auto* r : {&domain, &bus, &slot, &function})
    if (!*r) return std::unexpected(r->error());
  out.domain = *domain;
  out.bus = *bus;
  out.slot = *slot;
  out.function = *function;
  return out;
}

std::expected<void, Error> ParseMemory(const Parser& p, const xmlNode* root, Domain& d) {
  if (const xmlNode* m = Child(root, "memory")) {
    auto bytes = p.Scaled(m, Content(m), "KiB");
    if (!bytes) return std::unexpected(bytes.error());
    d.memory_kb = *bytes / 1024;
    d.memory_line = Line(m);
  }
  const xmlNode* mb = Child(root, "memoryBacking");
  if (mb == nullptr) return {};
  DomainMemoryBacking& b = d.memory_backing;
  b.present = true;
  b.line = Line(mb);
  b.access_mode = Attr(Child(mb, "access"), "mode");
  b.source_type = Attr(Child(mb, "source"), "type");
  if (const xmlNode* hp = Child(mb, "hugepages")) {
    b.hugepages = true;
    for (const xmlNode* page : Children(hp, "page")) {
      auto bytes = p.Scaled(page, Attr(page, "size"), "KiB");
      if (!bytes) return std::unexpected(bytes.error());
      b.pages.push_back({*bytes / 1024, Attr(page, "nodeset")});
    }
  }
  return {};
}

void ParseOs(const xmlNode* root, Domain& d) {
  const xmlNode* os = Child(root, "os");
  if (os == nullptr) return;
  d.os.line = Line(os);
  d.os.firmware = Attr(os, "firmware");
  const xmlNode* loader = Child(os, "loader");
  d.os.loader = Content(loader);
  d.os.loader_type = Attr(loader, "type");
  const xmlNode* nvram = Child(os, "nvram");
  d.os.nvram = Content(nvram);
  d.os.nvram_template = Attr(nvram, "template");
}

// As libvirt: vendor needs product, an address needs bus and device, and one of the two.
std::expected<void, Error> ParseUsbHostdev(const Parser& p, const xmlNode* n, Domain& d) {
  const xmlNode* source = Child(n, "source");
  DomainUsbHostdev u;
  u.line = Line(n);
  u.optional = Attr(source, "startupPolicy") == "optional";
  const xmlNode* vendor = Child(source, "vendor");
  const xmlNode* product = Child(source, "product");
  const xmlNode* address = Child(source, "address");
  if ((vendor == nullptr) != (product == nullptr) || (vendor == nullptr && address == nullptr))
    return std::unexpected(p.Fail(n,
                                  "a USB hostdev needs <source> with <vendor id=.../> and "
                                  "<product id=.../>, or <address bus=... device=.../>"));
  auto take = [&](const xmlNode* e, const char* attr,
                  std::optional<std::uint32_t>& out) -> std::expected<void, Error> {
    if (e == nullptr) return {};
    auto v = p.Number(e, attr);
    if (!v) return std::unexpected(v.error());
    out = *v;
    return {};
  };
  for (auto r : {take(vendor, "id", u.vendor), take(product, "id", u.product),
                 take(address, "bus", u.bus), take(address, "device", u.device)})
    if (!r) return std::unexpected(r.error());
  d.usb_hostdevs.push_back(u);
  return {};
}

std::expected<void, Error> ParseHostdev(const Parser& p, const xmlNode* n, bool interface,
                                        Domain& d) {
  if (!interface && Attr(n, "mode") == "subsystem" && Attr(n, "type") == "usb")
    return ParseUsbHostdev(p, n, d);
  if (!interface && (Attr(n, "mode") != "subsystem" || Attr(n, "type") != "pci")) return {};
  const xmlNode* address = Child(Child(n, "source"), "address");
  if (address == nullptr)
    return std::unexpected(p.Fail(n, "a PCI hostdev without <source><address .../>"));
  auto a = PciAddressOf(p, address);
  if (!a) return std::unexpected(a.error());
  d.hostdevs.push_back({*a, Attr(n, "managed") == "yes", interface, Line(n)});
  return {};
}

DomainInterface InterfaceOf(const xmlNode* n) {
  DomainInterface i;
  i.type = Attr(n, "type");
  i.line = Line(n);
  const xmlNode* source = Child(n, "source");
  for (const char* key : {"bridge", "network", "dev"})
    if (i.source.empty()) i.source = Attr(source, key);
  i.model = Attr(Child(n, "model"), "type");
  i.address_type = Attr(Child(n, "address"), "type");
  return i;
}

std::expected<void, Error> ParseDevice(const Parser& p, const xmlNode* n, Domain& d) {
  if (Is(n, "hostdev")) return ParseHostdev(p, n, false, d);
  if (Is(n, "interface")) {
    d.interfaces.push_back(InterfaceOf(n));
    if (d.interfaces.back().type == "hostdev") return ParseHostdev(p, n, true, d);
  } else if (Is(n, "disk")) {
    const xmlNode* target = Child(n, "target");
    d.disks.push_back({Attr(n, "device").empty() ? "disk" : Attr(n, "device"), Attr(target, "bus"),
                       Attr(target, "dev"), Attr(Child(n, "address"), "type"), Line(n)});
  } else if (Is(n, "filesystem")) {
    d.filesystems.push_back({Attr(Child(n, "driver"), "type"), Attr(Child(n, "source"), "dir"),
                             Attr(Child(n, "target"), "dir"), Attr(Child(n, "binary"), "path"),
                             Line(n)});
  } else if (Is(n, "audio")) {
    d.audios.push_back({Attr(n, "type"), Attr(n, "serverName"), Attr(n, "runtimeDir"), Line(n)});
  } else if (Is(n, "shmem")) {
    DomainShmem s{Attr(n, "name"), Attr(Child(n, "model"), "type"), std::nullopt, Line(n)};
    if (const xmlNode* size = Child(n, "size")) {
      auto bytes = p.Scaled(size, Content(size), "b");
      if (!bytes) return std::unexpected(bytes.error());
      s.size_bytes = *bytes;
    }
    d.shmems.push_back(std::move(s));
  }
  return {};
}

void ParseQemuArgs(const xmlNode* root, Domain& d) {
  for (const xmlNode* c = root->children; c != nullptr; c = c->next) {
    if (!Is(c, "commandline") || c->ns == nullptr) continue;
    if (reinterpret_cast<const char*>(c->ns->href) != kQemuNamespace) continue;
    for (const xmlNode* arg : Children(c, "arg")) d.qemu_args.push_back(Attr(arg, "value"));
  }
}

}  // namespace

std::optional<std::uint64_t> ScaledBytes(std::string_view value, std::string_view unit,
                                         std::string_view default_unit) {
  value = Trim(value);
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (value.empty() || ec != std::errc() || end != value.data() + value.size()) return std::nullopt;
  std::string u(unit.empty() ? default_unit : unit);
  std::transform(u.begin(), u.end(), u.begin(), [](unsigned char c) { return std::tolower(c); });
  if (u == "b" || u == "bytes") return n;
  constexpr std::string_view kPrefixes = "kmgtpe";
  std::size_t power = u.empty() ? std::string_view::npos : kPrefixes.find(u[0]);
  if (power == std::string_view::npos) return std::nullopt;
  std::string_view rest = std::string_view(u).substr(1);
  std::uint64_t base;
  if (rest.empty() || rest == "ib")
    base = 1024;
  else if (rest == "b")
    base = 1000;
  else
    return std::nullopt;
  for (std::size_t i = 0; i <= power; ++i) {
    if (n > UINT64_MAX / base) return std::nullopt;
    n *= base;
  }
  return n;
}

std::expected<Domain, Error> ParseDomainXml(std::string_view text, std::string_view path) {
  Parser p{path};
  std::unique_ptr<xmlParserCtxt, CtxtFree> ctxt(xmlNewParserCtxt());
  if (!ctxt) return std::unexpected(Error{std::string(path), 0, "cannot start the XML parser", 0});
  std::string url(path);
  std::unique_ptr<xmlDoc, DocFree> doc(
      xmlCtxtReadMemory(ctxt.get(), text.data(), static_cast<int>(text.size()), url.c_str(),
                        nullptr, XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING));
  if (!doc) {
    const xmlError* e = xmlCtxtGetLastError(ctxt.get());
    std::string message = e && e->message ? std::string(Trim(e->message)) : "not well-formed XML";
    return std::unexpected(
        Error{std::string(path), e ? e->line : 0, "not a libvirt domain: " + message, 0});
  }
  const xmlNode* root = xmlDocGetRootElement(doc.get());
  if (!Is(root, "domain"))
    return std::unexpected(p.Fail(root, fmt::format("expected <domain> as the root element, found "
                                                    "<{}>",
                                                    root ? Name(root) : "")));
  Domain d;
  d.path = std::string(path);
  d.type = Attr(root, "type");
  d.name = Content(Child(root, "name"));
  if (d.name.empty()) return std::unexpected(p.Fail(root, "<domain> has no <name>"));
  if (auto m = ParseMemory(p, root, d); !m) return std::unexpected(m.error());
  ParseOs(root, d);
  for (const xmlNode* n = Child(root, "devices") ? Child(root, "devices")->children : nullptr;
       n != nullptr; n = n->next) {
    if (n->type != XML_ELEMENT_NODE) continue;
    if (auto r = ParseDevice(p, n, d); !r) return std::unexpected(r.error());
  }
  ParseQemuArgs(root, d);
  return d;
}

}  // namespace vmprep
