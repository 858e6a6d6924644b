// Mirroring by packet capture: the bytes clients send to mirrored ports, copied off the path. The
// app's connections are never routed through the sidecar for mirroring; a packet socket in the
// pod's network namespace, with a kernel BPF filter for the mirrored ports, sees each inbound TCP
// segment, and a thread of its own puts each connection's byte stream back together (out-of-order
// segments, retransmits, FIN and RST) and hands the JavaScript side what the app received, in
// order. Whatever happens here, the app's packets have already gone their way: a copy that can't
// keep up is dropped (`lost`), never waited for.
#include "capture.h"

#include <arpa/inet.h>
#include <linux/filter.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

// Out-of-order bytes held for one connection while a segment before them is missing; past this
// the copy is given up (a capture that dropped a segment never sees it again). And for all of
// them: clients that send segments with holes on purpose can't make the sidecar hold more.
constexpr size_t kMaxPendingPerFlow = 4u << 20;
constexpr size_t kMaxPendingTotal = 32u << 20;
// Each held segment is charged at least this much (its map entry costs about that), and a
// connection may hold this many: 1-byte segments spread out can't cost more than bytes would.
constexpr size_t kHeldSegmentCost = 128;
constexpr size_t kMaxHeldSegments = 1024;
// A copy whose hole isn't filled within this is given up (the capture missed the segment).
constexpr int64_t kGapMs = 5000;
// Connections whose client hasn't sent a byte yet (only its SYN was seen: the filter keeps bare
// ACKs out): forgotten after this, and at most this many (a SYN flood, spoofed or not, costs the
// sessions nothing and can't crowd out the copies under way).
constexpr int64_t kUnopenedMs = 120'000;
constexpr size_t kMaxUnopened = 16384;
// Bytes handed to the event loop and not yet taken: past this, copies are dropped instead.
constexpr size_t kMaxQueuedBytes = 32u << 20;
constexpr size_t kMaxFlows = 65536;
// A connection silent this long is forgotten (its client vanished without FIN or RST).
constexpr int64_t kIdleMs = 10 * 60 * 1000;
// Each port adds 4 instructions to the filter, whose jumps reach at most 255 ahead.
constexpr size_t kMaxPorts = 48;
constexpr size_t kMaxChunk = 64u << 10;
// Large enough for a GRO-merged segment (64 KiB, or more with BIG TCP): a truncated one is a gap.
constexpr size_t kBufferSize = 512u << 10;

constexpr uint8_t kFin = 0x01, kSyn = 0x02, kRst = 0x04, kAck = 0x10;

enum EventType : uint32_t { kOpen = 0, kData = 1, kEnd = 2, kLost = 3, kReset = 4 };

struct Event {
  EventType type;
  uint32_t id;
  std::string data;  // kData: the bytes; kLost: why; kOpen: the client's address
  std::string to;    // kOpen: the address the client connected to
  uint16_t fromPort = 0, toPort = 0;
};
using Batch = std::vector<Event>;

struct Key {
  uint8_t family;
  uint8_t src[16];
  uint8_t dst[16];
  uint8_t zero;  // explicit padding, zeroed with the rest: keys are compared and hashed as bytes
  uint16_t sport, dport;
  bool operator==(const Key& other) const { return memcmp(this, &other, sizeof(Key)) == 0; }
};
struct KeyHash {
  size_t operator()(const Key& key) const {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&key);
    size_t hash = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof(Key); i++) hash = (hash ^ bytes[i]) * 1099511628211ull;
    return hash;
  }
};

struct Flow {
  uint32_t id;
  uint32_t next;  // the sequence number of the next byte the copy is owed
  // The client has completed the handshake: the JavaScript side knows the connection. Until then
  // it is only a SYN, maybe spoofed, and costs the sessions nothing.
  bool open = false;
  std::map<uint32_t, std::string> pending;
  size_t pendingBytes = 0;
  bool fin = false;
  uint32_t finSeq = 0;
  int64_t lastMs = 0;
  int64_t progressMs = 0;  // when bytes were last copied (or the copy opened)
};

std::atomic<size_t> queuedBytes{0};
std::atomic<uint64_t> outOfOrder{0}, repeated{0}, lostCopies{0};
// Process-wide: events of a stopped capture still queued for the event loop can't be taken for
// a later one's.
std::atomic<uint32_t> lastId{0};

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Serial-number arithmetic (RFC 1982): sequence numbers wrap.
int32_t SeqDiff(uint32_t a, uint32_t b) { return static_cast<int32_t>(a - b); }

// A classic BPF program with forward jumps to labels, resolved at the end.
class Assembler {
 public:
  void Op(uint16_t code, uint32_t k) { code_.push_back({code, 0, 0, k}); }
  // A conditional jump: to `yes` or `no`, each a label or -1 for the next instruction.
  void Jump(uint16_t code, uint32_t k, int yes, int no) {
    fixups_.push_back({code_.size(), yes, no});
    code_.push_back({code, 0, 0, k});
  }
  void Always(int label) {
    always_.push_back({code_.size(), label});
    code_.push_back({BPF_JMP | BPF_JA, 0, 0, 0});
  }
  int NewLabel() {
    labels_.push_back(-1);
    return static_cast<int>(labels_.size()) - 1;
  }
  void Place(int label) { labels_[label] = static_cast<int>(code_.size()); }
  // The program, or none when a conditional jump reaches too far.
  std::vector<sock_filter> Done() {
    for (const Fixup& fix : fixups_) {
      for (int label : {fix.yes, fix.no})
        if (label >= 0 && labels_[label] - static_cast<int>(fix.at) - 1 > 255) return {};
      code_[fix.at].jt = Offset(fix.at, fix.yes);
      code_[fix.at].jf = Offset(fix.at, fix.no);
    }
    for (const auto& [at, label] : always_) code_[at].k = labels_[label] - static_cast<int>(at) - 1;
    return code_;
  }

 private:
  struct Fixup {
    size_t at;
    int yes, no;
  };
  uint8_t Offset(size_t at, int label) const { return label < 0 ? 0 : static_cast<uint8_t>(labels_[label] - static_cast<int>(at) - 1); }
  std::vector<sock_filter> code_;
  std::vector<Fixup> fixups_;
  std::vector<std::pair<size_t, int>> always_;
  std::vector<int> labels_;
};

// The TCP part of the filter, the same for both families but for where things are: the TCP header
// at `tcp` (`mode` BPF_IND: past X, the IPv4 header's length; BPF_ABS: 40, past IPv6's), the IP
// length at `length` (IPv4's total length, which counts X too: `lengthCountsX`; IPv6's payload).
// Keeps segments to `ports` with bytes or a SYN, FIN or RST, and resets from them.
void KeepTcp(Assembler& a, const std::set<uint16_t>& ports, uint16_t mode, uint32_t tcp, uint32_t length, bool lengthCountsX, int accept,
             int drop) {
  int reset = a.NewLabel(), bytes = a.NewLabel();
  a.Op(BPF_LD | BPF_H | mode, tcp + 2);
  for (uint16_t port : ports) a.Jump(BPF_JMP | BPF_JEQ | BPF_K, port, bytes, -1);
  a.Op(BPF_LD | BPF_H | mode, tcp);
  for (uint16_t port : ports) a.Jump(BPF_JMP | BPF_JEQ | BPF_K, port, reset, -1);
  a.Always(drop);
  a.Place(reset);
  a.Op(BPF_LD | BPF_B | mode, tcp + 13);
  a.Jump(BPF_JMP | BPF_JSET | BPF_K, kRst, accept, drop);
  // Bytes: the IP length past the headers (0: a GSO packet past 64 KiB or a jumbogram, which has some).
  a.Place(bytes);
  a.Op(BPF_LD | BPF_B | mode, tcp + 13);
  a.Jump(BPF_JMP | BPF_JSET | BPF_K, kSyn | kFin | kRst, accept, -1);
  a.Op(BPF_LD | BPF_B | mode, tcp + 12);
  a.Op(BPF_ALU | BPF_AND | BPF_K, 0xf0);
  a.Op(BPF_ALU | BPF_RSH | BPF_K, 2);
  if (lengthCountsX) a.Op(BPF_ALU | BPF_ADD | BPF_X, 0);
  a.Op(BPF_ST, 0);
  a.Op(BPF_LD | BPF_H | BPF_ABS, length);
  a.Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, accept, -1);
  a.Op(BPF_LDX | BPF_W | BPF_MEM, 0);
  a.Jump(BPF_JMP | BPF_JGT | BPF_X, 0, accept, drop);
}

// Accepts TCP segments (IPv4, unfragmented, or IPv6 without extension headers) to one of `ports`
// that carry bytes or a SYN, FIN or RST (a client's bare ACKs, most of its segments, never wake
// the capture), and resets from one of them (the app ending a connection its client won't end).
// A SOCK_DGRAM packet socket's filter sees the packet from its network header.
std::vector<sock_filter> FilterFor(const std::set<uint16_t>& ports) {
  Assembler a;
  int accept = a.NewLabel(), drop = a.NewLabel(), v6 = a.NewLabel();
  a.Op(BPF_LD | BPF_B | BPF_ABS, 0);
  a.Op(BPF_ALU | BPF_RSH | BPF_K, 4);
  a.Jump(BPF_JMP | BPF_JEQ | BPF_K, 4, -1, v6);
  a.Op(BPF_LD | BPF_B | BPF_ABS, 9);
  a.Jump(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, -1, drop);
  a.Op(BPF_LD | BPF_H | BPF_ABS, 6);
  a.Jump(BPF_JMP | BPF_JSET | BPF_K, 0x3fff, drop, -1);  // a fragment, the first one too
  a.Op(BPF_LDX | BPF_B | BPF_MSH, 0);                    // X = the IPv4 header's length
  KeepTcp(a, ports, BPF_IND, 0, 2, true, accept, drop);
  a.Place(v6);
  a.Jump(BPF_JMP | BPF_JEQ | BPF_K, 6, -1, drop);
  a.Op(BPF_LD | BPF_B | BPF_ABS, 6);
  a.Jump(BPF_JMP | BPF_JEQ | BPF_K, IPPROTO_TCP, -1, drop);
  KeepTcp(a, ports, BPF_ABS, 40, 4, false, accept, drop);
  a.Place(accept);
  a.Op(BPF_RET | BPF_K, 0xffffffff);  // whole: a segment larger than the buffer is seen as such
  a.Place(drop);
  a.Op(BPF_RET | BPF_K, 0);
  return a.Done();
}

// One TCP segment as the packet socket gave it.
struct Segment {
  Key key;
  uint32_t seq;
  uint8_t flags;
  const uint8_t* payload;
  size_t length;
};

bool Parse(const uint8_t* p, size_t n, Segment& out) {
  memset(&out.key, 0, sizeof(out.key));
  size_t tcp, end;
  if (n >= 20 && (p[0] >> 4) == 4) {
    size_t ihl = (p[0] & 0x0f) * 4u;
    size_t total = (p[2] << 8) | p[3];
    if (p[9] != IPPROTO_TCP || ihl < 20 || n < ihl + 20) return false;
    out.key.family = 4;
    memcpy(out.key.src, p + 12, 4);
    memcpy(out.key.dst, p + 16, 4);
    tcp = ihl;
    end = total && total <= n ? total : n;  // 0: a GSO packet past 64 KiB
  } else if (n >= 60 && (p[0] >> 4) == 6) {
    size_t payload = (p[4] << 8) | p[5];
    if (p[6] != IPPROTO_TCP) return false;
    out.key.family = 6;
    memcpy(out.key.src, p + 8, 16);
    memcpy(out.key.dst, p + 24, 16);
    tcp = 40;
    end = payload && 40 + payload <= n ? 40 + payload : n;
  } else {
    return false;
  }
  const uint8_t* t = p + tcp;
  size_t offset = (t[12] >> 4) * 4u;
  if (offset < 20 || tcp + offset > end) return false;
  out.key.sport = static_cast<uint16_t>((t[0] << 8) | t[1]);
  out.key.dport = static_cast<uint16_t>((t[2] << 8) | t[3]);
  out.seq = (static_cast<uint32_t>(t[4]) << 24) | (t[5] << 16) | (t[6] << 8) | t[7];
  out.flags = t[13];
  out.payload = t + offset;
  out.length = end - tcp - offset;
  return true;
}

std::string AddressText(uint8_t family, const uint8_t* bytes) {
  char text[INET6_ADDRSTRLEN] = {0};
  inet_ntop(family == 4 ? AF_INET : AF_INET6, bytes, text, sizeof(text));
  return text;
}

// The reassembly of every captured connection: runs on the capture thread only.
class Reassembler {
 public:
  explicit Reassembler(Batch& out) : out_(out) {}

  // `outgoing`: the packet leaves the pod (the app's own connections to other pods' ports of the
  // same number are none of the copies' business; only the app's resets to its clients count).
  void Take(const Segment& s, bool truncated, bool outgoing, int64_t now) {
    if (!outgoing && ports_->count(s.key.dport)) return FromClient(s, truncated, now);
    if (ports_->count(s.key.sport) && (s.flags & kRst)) {
      Key client = s.key;  // the copy's own key: the client's side first
      std::swap(client.sport, client.dport);
      memcpy(client.src, s.key.dst, 16);
      memcpy(client.dst, s.key.src, 16);
      auto it = flows_.find(client);
      if (it != flows_.end()) Reset(it);
    }
  }

  // Forgets connections silent for too long, handshakes never followed by a byte, and connections
  // of ports no longer mirrored; gives up copies whose hole stayed open.
  void Sweep(int64_t now) {
    for (auto it = flows_.begin(); it != flows_.end();) {
      Flow& flow = it->second;
      int64_t silent = now - flow.lastMs;
      if (!flow.open && (silent > kUnopenedMs || !ports_->count(it->first.dport)))
        it = Forget(it);
      else if (flow.open && !flow.pending.empty() && now - flow.progressMs > kGapMs)
        it = Lose(it, "a segment was missed (the capture dropped it)");
      else if (silent > kIdleMs || !ports_->count(it->first.dport))
        it = End(it);
      else
        ++it;
    }
  }

  // A copy the event loop can't take in time: dropped, and its session told.
  void Drop(uint32_t id, const char* why) {
    for (auto it = flows_.begin(); it != flows_.end(); ++it) {
      if (it->second.id != id) continue;
      Lose(it, why);
      return;
    }
  }

  void SetPorts(const std::set<uint16_t>* ports) { ports_ = ports; }

 private:
  using Flows = std::unordered_map<Key, Flow, KeyHash>;

  void FromClient(const Segment& s, bool truncated, int64_t now) {
    auto it = flows_.find(s.key);
    if ((s.flags & kSyn) && !(s.flags & kAck)) {
      if (it != flows_.end()) {
        if (it->second.next == s.seq + 1) return;  // the SYN again
        Reset(it);                                  // the same addresses and ports, a new connection
      }
      if (unopened_ >= kMaxUnopened || flows_.size() >= kMaxFlows) return;
      Flow flow;
      flow.id = ++lastId;
      flow.next = s.seq + 1;
      flow.lastMs = now;
      flows_.emplace(s.key, std::move(flow));
      unopened_++;
      return;
    }
    if (it == flows_.end()) return;  // opened before the port was mirrored, or given up
    Flow& flow = it->second;
    if (!flow.open) {
      // The client's first bytes (the filter keeps its bare ACKs, the handshake's last among them,
      // from the capture) open the copy: the connection is established by then. (Its first
      // segment may have been lost on the way: later ones are held until it comes.)
      if (!(s.flags & kAck) || (s.flags & kRst) || SeqDiff(s.seq, flow.next) < 0) {
        Forget(it);
        return;
      }
      flow.open = true;
      flow.progressMs = now;
      unopened_--;
      out_.push_back({kOpen, flow.id, AddressText(s.key.family, s.key.src), AddressText(s.key.family, s.key.dst), s.key.sport, s.key.dport});
    }
    flow.lastMs = now;
    if (s.flags & kRst) {
      Reset(it);
      return;
    }
    if (truncated) {
      Lose(it, "a segment was larger than the capture buffer");
      return;
    }
    if (s.length && !Deliver(it, s.seq, s.payload, s.length, now)) return;
    if (s.flags & kFin) {
      flow.fin = true;
      flow.finSeq = s.seq + static_cast<uint32_t>(s.length);
    }
    if (flow.fin && flow.next == flow.finSeq) End(it);
  }

  // False when the flow was given up.
  bool Deliver(Flows::iterator it, uint32_t seq, const uint8_t* data, size_t length, int64_t now) {
    Flow& flow = it->second;
    int32_t ahead = SeqDiff(seq, flow.next);
    if (ahead > 0) {
      size_t cost = std::max(length, kHeldSegmentCost);
      if (static_cast<size_t>(ahead) > kMaxPendingPerFlow || flow.pendingBytes + cost > kMaxPendingPerFlow ||
          flow.pending.size() >= kMaxHeldSegments) {
        Lose(it, "a segment was missed (the capture dropped it)");
        return false;
      }
      if (pendingTotal_ + cost > kMaxPendingTotal) {
        Lose(it, "too many bytes out of order on all connections at once");
        return false;
      }
      outOfOrder++;
      auto [held, added] = flow.pending.try_emplace(seq);
      if (!added && held->second.size() >= length) return true;
      if (!added) Release(flow, held->second);
      held->second.assign(reinterpret_cast<const char*>(data), length);
      flow.pendingBytes += cost;
      pendingTotal_ += cost;
      return true;
    }
    if (!Emit(flow, seq, data, length, now)) return true;
    // Segments held for later that now follow on (only once the copy moved on).
    for (bool progressed = true; progressed && !flow.pending.empty();) {
      progressed = false;
      for (auto held = flow.pending.begin(); held != flow.pending.end(); ++held) {
        if (SeqDiff(held->first, flow.next) > 0) continue;
        Emit(flow, held->first, reinterpret_cast<const uint8_t*>(held->second.data()), held->second.size(), now);
        Release(flow, held->second);
        flow.pending.erase(held);
        progressed = true;
        break;
      }
    }
    return true;
  }

  void Release(Flow& flow, const std::string& held) {
    size_t cost = std::max(held.size(), kHeldSegmentCost);
    flow.pendingBytes -= cost;
    pendingTotal_ -= cost;
  }

  // The part of [seq, seq + length) past what the copy already has; false when there was none.
  bool Emit(Flow& flow, uint32_t seq, const uint8_t* data, size_t length, int64_t now) {
    int32_t behind = SeqDiff(flow.next, seq);
    if (behind < 0) return false;
    if (static_cast<size_t>(behind) >= length) {  // a retransmit of bytes copied already
      repeated++;
      return false;
    }
    const char* fresh = reinterpret_cast<const char*>(data) + behind;
    size_t size = length - behind;
    // Consecutive bytes of a connection travel together, in chunks no larger than a socket read
    // (a session's copy must have the credit for a whole chunk).
    if (!out_.empty() && out_.back().type == kData && out_.back().id == flow.id && out_.back().data.size() + size <= kMaxChunk)
      out_.back().data.append(fresh, size);
    else
      for (size_t at = 0; at < size; at += kMaxChunk) out_.push_back({kData, flow.id, std::string(fresh + at, std::min(kMaxChunk, size - at)), "", 0, 0});
    flow.next += static_cast<uint32_t>(size);
    flow.progressMs = now;
    return true;
  }

  // The client finished, or went silent for good: a complete copy, unless bytes are missing.
  Flows::iterator End(Flows::iterator it) {
    const Flow& flow = it->second;
    if (!flow.open) return Forget(it);
    if (!flow.pending.empty() || (flow.fin && flow.next != flow.finSeq)) return Lose(it, "a segment was missed (the capture dropped it)");
    out_.push_back({kEnd, flow.id, "", "", 0, 0});
    return Forget(it);
  }

  // A reset (by either side, or a new connection in its place): the copy is reset too.
  Flows::iterator Reset(Flows::iterator it) {
    if (it->second.open) out_.push_back({kReset, it->second.id, "", "", 0, 0});
    return Forget(it);
  }

  Flows::iterator Lose(Flows::iterator it, const char* why) {
    if (!it->second.open) return Forget(it);
    lostCopies++;
    out_.push_back({kLost, it->second.id, why, "", 0, 0});
    return Forget(it);
  }

  Flows::iterator Forget(Flows::iterator it) {
    pendingTotal_ -= it->second.pendingBytes;
    if (!it->second.open) unopened_--;
    return flows_.erase(it);
  }

  Batch& out_;
  Flows flows_;
  size_t pendingTotal_ = 0;
  size_t unopened_ = 0;
  const std::set<uint16_t>* ports_ = nullptr;
};

struct Capture {
  std::mutex lock;  // ports and the filter
  std::set<uint16_t> ports;
  int fd = -1;
  int wake = -1;
  std::thread thread;
  std::atomic<bool> stopping{false};
  // Copy what reaches the app over loopback (from a service mesh's proxy) instead of what comes
  // in from other interfaces.
  std::atomic<bool> loopbackOnly{false};
  Napi::ThreadSafeFunction deliver;
};
// Never destroyed: the thread may still run at exit.
Capture& capture = *new Capture;

// The copied bytes of a batch (what the queue bound counts).
size_t DataBytes(const Batch& batch) {
  size_t bytes = 0;
  for (const Event& event : batch)
    if (event.type == kData) bytes += event.data.size();
  return bytes;
}

void ToJavaScript(Napi::Env env, Napi::Function callback, Batch* batch) {
  queuedBytes -= DataBytes(*batch);
  if (env == nullptr) {
    delete batch;
    return;
  }
  Napi::Array events = Napi::Array::New(env, batch->size());
  for (size_t i = 0; i < batch->size(); i++) {
    Event& e = (*batch)[i];
    Napi::Array event = Napi::Array::New(env);
    event.Set(0u, Napi::Number::New(env, e.type));
    event.Set(1u, Napi::Number::New(env, e.id));
    if (e.type == kData) event.Set(2u, Napi::Buffer<char>::Copy(env, e.data.data(), e.data.size()));
    if (e.type == kLost) event.Set(2u, Napi::String::New(env, e.data));
    if (e.type == kOpen) {
      event.Set(2u, Napi::String::New(env, e.data));
      event.Set(3u, Napi::Number::New(env, e.fromPort));
      event.Set(4u, Napi::String::New(env, e.to));
      event.Set(5u, Napi::Number::New(env, e.toPort));
    }
    events.Set(i, event);
  }
  delete batch;
  callback.Call({events});
}

void Run(int fd, int wake) {
  std::vector<uint8_t> buffer(kBufferSize);
  Batch batch;
  Reassembler flows(batch);
  std::set<uint16_t> ports;
  flows.SetPorts(&ports);
  const unsigned loopback = if_nametoindex("lo");
  int64_t lastSweep = NowMs();
  pollfd waits[2] = {{fd, POLLIN, 0}, {wake, POLLIN, 0}};
  while (!capture.stopping) {
    poll(waits, 2, 1000);
    if (waits[0].revents & POLLIN) {
      // A copy may wait a moment, the app never does: reading (and waking the event loop) at most
      // every half millisecond gathers the segments of several requests into one batch under load.
      const timespec gather = {0, 500 * 1000};
      nanosleep(&gather, nullptr);
    }
    if (waits[1].revents & POLLIN) {
      uint64_t ignored;
      (void)!read(wake, &ignored, sizeof(ignored));
    }
    {
      std::lock_guard<std::mutex> hold(capture.lock);
      ports = capture.ports;
    }
    int64_t now = NowMs();
    for (int i = 0; i < 1024; i++) {
      sockaddr_ll from{};
      socklen_t fromLength = sizeof(from);
      ssize_t n = recvfrom(fd, buffer.data(), buffer.size(), MSG_DONTWAIT | MSG_TRUNC, reinterpret_cast<sockaddr*>(&from), &fromLength);
      if (n < 0) break;
      // Clients' traffic comes in from other interfaces; loopback traffic is the pod talking to
      // itself, unless a mesh's proxy hands the app its clients' connections there. There each
      // packet shows twice, going out and coming in: the incoming one is kept.
      bool onLoopback = from.sll_ifindex == static_cast<int>(loopback);
      if (onLoopback != capture.loopbackOnly || (onLoopback && from.sll_pkttype == PACKET_OUTGOING)) continue;
      Segment segment;
      size_t size = std::min(static_cast<size_t>(n), buffer.size());
      if (!Parse(buffer.data(), size, segment)) continue;
      flows.Take(segment, static_cast<size_t>(n) > buffer.size(), from.sll_pkttype == PACKET_OUTGOING, now);
    }
    if (now - lastSweep > 1000) {
      flows.Sweep(now);
      lastSweep = now;
    }
    if (batch.empty()) continue;
    // Copies the event loop hasn't taken yet past the bound: dropped rather than queued.
    size_t bytes = DataBytes(batch);
    if (queuedBytes + bytes > kMaxQueuedBytes) {
      std::set<uint32_t> late;
      for (const Event& event : batch)
        if (event.type == kData) late.insert(event.id);
      const char* why = "the sidecar fell behind the traffic";
      Batch kept;
      for (Event& event : batch) {
        if (event.type == kData) continue;
        // A connection that ended in this batch: its copy is lost, not complete.
        if (event.type == kEnd && late.erase(event.id)) {
          event.type = kLost;
          event.data = why;
          lostCopies++;
        }
        kept.push_back(std::move(event));
      }
      batch.swap(kept);
      for (uint32_t id : late) flows.Drop(id, why);
      bytes = 0;
    }
    queuedBytes += bytes;
    Batch* handed = new Batch(std::move(batch));
    batch.clear();
    if (capture.deliver.NonBlockingCall(handed, ToJavaScript) != napi_ok) {
      queuedBytes -= bytes;
      delete handed;
    }
  }
}

Napi::Value ErrnoError(Napi::Env env, const char* what) {
  Napi::Error::New(env, std::string(what) + ": " + strerror(errno)).ThrowAsJavaScriptException();
  return env.Undefined();
}

bool Attach(int fd, const std::set<uint16_t>& ports) {
  std::vector<sock_filter> code = FilterFor(ports);
  if (code.empty()) {
    errno = E2BIG;
    return false;
  }
  sock_fprog program{static_cast<unsigned short>(code.size()), code.data()};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof(program)) == 0;
}

// captureStart(ports, loopbackOnly, onEvents): copies the inbound bytes of new connections to
// `ports` from now on, those that come in from outside the pod, or with `loopbackOnly` those made
// over loopback (a mesh's proxy to the app); called again, it changes the ports (the filter is
// replaced at once) and the interfaces. onEvents(events) gets
// batches: [0, id, fromAddress, fromPort, toAddress, toPort] (a connection opened), [1, id, bytes],
// [2, id] (it ended), [3, id, why] (its copy was given up).
Napi::Value Start(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3 || !info[0].IsArray() || !info[1].IsBoolean() || !info[2].IsFunction()) {
    Napi::TypeError::New(env, "captureStart(ports: number[], loopbackOnly: boolean, onEvents: (events) => void)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::set<uint16_t> ports;
  Napi::Array list = info[0].As<Napi::Array>();
  for (uint32_t i = 0; i < list.Length(); i++) {
    Napi::Value port = list[i];
    if (!port.IsNumber() || port.As<Napi::Number>().Uint32Value() - 1 > 65534) {
      Napi::TypeError::New(env, "captureStart: ports are 1-65535").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    ports.insert(static_cast<uint16_t>(port.As<Napi::Number>().Uint32Value()));
  }
  if (ports.size() > kMaxPorts) {
    Napi::RangeError::New(env, "captureStart: at most 48 ports").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  const bool loopbackOnly = info[1].As<Napi::Boolean>().Value();
  std::lock_guard<std::mutex> hold(capture.lock);
  if (capture.fd >= 0) {
    if (!Attach(capture.fd, ports)) return ErrnoError(env, "setsockopt(SO_ATTACH_FILTER)");
    capture.ports = ports;
    capture.loopbackOnly = loopbackOnly;
    uint64_t one = 1;
    (void)!write(capture.wake, &one, sizeof(one));
    return env.Undefined();
  }
  // Protocol 0 receives nothing until bound: the filter is in place before the first packet.
  int fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError(env, "socket(AF_PACKET)");
  sockaddr_ll all{};
  all.sll_family = AF_PACKET;
  all.sll_protocol = htons(ETH_P_ALL);
  const char* failed = !Attach(fd, ports) ? "setsockopt(SO_ATTACH_FILTER)" : bind(fd, reinterpret_cast<sockaddr*>(&all), sizeof(all)) != 0 ? "bind(AF_PACKET)" : nullptr;
  if (failed) {
    int err = errno;
    close(fd);
    errno = err;
    return ErrnoError(env, failed);
  }
  // Room for bursts while the thread is busy; FORCE needs CAP_NET_ADMIN, which the sidecar has.
  int size = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    close(fd);
    return ErrnoError(env, "eventfd");
  }
  capture.ports = ports;
  capture.loopbackOnly = loopbackOnly;
  capture.fd = fd;
  capture.wake = wake;
  capture.stopping = false;
  capture.deliver = Napi::ThreadSafeFunction::New(env, info[2].As<Napi::Function>(), "mirror capture", 0, 1);
  // The capture doesn't keep the process alive: the sessions do.
  capture.deliver.Unref(env);
  capture.thread = std::thread(Run, fd, wake);
  return env.Undefined();
}

// captureStop(): no more copies; the thread ends and the socket closes.
Napi::Value Stop(const Napi::CallbackInfo& info) {
  std::thread thread;
  {
    std::lock_guard<std::mutex> hold(capture.lock);
    if (capture.fd < 0) return info.Env().Undefined();
    capture.stopping = true;
    uint64_t one = 1;
    (void)!write(capture.wake, &one, sizeof(one));
    thread = std::move(capture.thread);
  }
  thread.join();
  std::lock_guard<std::mutex> hold(capture.lock);
  close(capture.fd);
  close(capture.wake);
  capture.fd = capture.wake = -1;
  capture.ports.clear();
  capture.deliver.Release();
  return info.Env().Undefined();
}

// captureStats(): { outOfOrder, repeated, lost } so far.
Napi::Value Stats(const Napi::CallbackInfo& info) {
  Napi::Object stats = Napi::Object::New(info.Env());
  stats.Set("outOfOrder", Napi::Number::New(info.Env(), static_cast<double>(outOfOrder.load())));
  stats.Set("repeated", Napi::Number::New(info.Env(), static_cast<double>(repeated.load())));
  stats.Set("lost", Napi::Number::New(info.Env(), static_cast<double>(lostCopies.load())));
  return stats;
}

}  // namespace

void RegisterCapture(Napi::Env env, Napi::Object exports) {
  exports.Set("captureStart", Napi::Function::New(env, Start));
  exports.Set("captureStop", Napi::Function::New(env, Stop));
  exports.Set("captureStats", Napi::Function::New(env, Stats));
}
