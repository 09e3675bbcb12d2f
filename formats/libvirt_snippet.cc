#include "formats/libvirt_snippet.h"

#include <fmt/format.h>
#include <libxml/tree.h>

#include <memory>

namespace vmprep {
namespace {

const xmlChar* X(const char* s) { return reinterpret_cast<const xmlChar*>(s); }

xmlNode* Add(xmlNode* parent, const char* name) {
  return xmlNewChild(parent, nullptr, X(name), nullptr);
}

void Set(xmlNode* node, const char* name, const std::string& value) {
  xmlNewProp(node, X(name), X(value.c_str()));
}

struct DocFree {
  void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};

void AddHostdev(xmlNode* devices, const DomainPciAddress& a) {
  xmlNode* h = Add(devices, "hostdev");
  Set(h, "mode", "subsystem");
  Set(h, "type", "pci");
  Set(h, "managed", "yes");
  xmlNode* address = Add(Add(h, "source"), "address");
  Set(address, "domain", fmt::format("0x{:04x}", a.domain));
  Set(address, "bus", fmt::format("0x{:02x}", a.bus));
  Set(address, "slot", fmt::format("0x{:02x}", a.slot));
  Set(address, "function", fmt::format("0x{:x}", a.function));
}

void AddShare(xmlNode* devices, const DomainSnippet::Share& s) {
  xmlNode* fs = Add(devices, "filesystem");
  Set(fs, "type", "mount");
  Set(fs, "accessmode", "passthrough");
  Set(Add(fs, "driver"), "type", "virtiofs");
  Set(Add(fs, "source"), "dir", s.dir);
  Set(Add(fs, "target"), "dir", s.tag);
}

}  // namespace

std::string RenderDomainSnippet(const DomainSnippet& snippet) {
  std::unique_ptr<xmlDoc, DocFree> doc(xmlNewDoc(X("1.0")));
  if (!snippet.comment.empty())
    xmlAddChild(reinterpret_cast<xmlNode*>(doc.get()),
                xmlNewDocComment(doc.get(), X((" " + snippet.comment + " ").c_str())));
  xmlNode* domain = xmlNewDocNode(doc.get(), nullptr, X("domain"), nullptr);
  xmlDocSetRootElement(doc.get(), domain);
  if (snippet.hugepages_kb || snippet.shared_memory) {
    xmlNode* mb = Add(domain, "memoryBacking");
    if (snippet.hugepages_kb) {
      xmlNode* hp = Add(mb, "hugepages");
      if (*snippet.hugepages_kb != 0) {
        xmlNode* page = Add(hp, "page");
        Set(page, "size", std::to_string(*snippet.hugepages_kb));
        Set(page, "unit", "KiB");
      }
    }
    if (snippet.shared_memory) {
      Set(Add(mb, "source"), "type", "memfd");
      Set(Add(mb, "access"), "mode", "shared");
    }
  }
  if (!snippet.hostdevs.empty() || !snippet.virtiofs.empty()) {
    xmlNode* devices = Add(domain, "devices");
    for (const auto& a : snippet.hostdevs) AddHostdev(devices, a);
    for (const auto& s : snippet.virtiofs) AddShare(devices, s);
  }
  xmlChar* out = nullptr;
  int size = 0;
  xmlDocDumpFormatMemoryEnc(doc.get(), &out, &size, "UTF-8", 1);
  std::string text(reinterpret_cast<const char*>(out), static_cast<std::size_t>(size));
  xmlFree(out);
  // The XML declaration says nothing `virsh edit` needs.
  if (text.starts_with("<?xml")) text.erase(0, text.find('\n') + 1);
  return text;
}

}  // namespace vmprep
