/*
 * /init of the test guest's initramfs (static, 32-bit PowerPC): reports what the guest sees as
 * one JSON document over the console, framed like the POWER9 box's results
 * (tests/e2e/power9/lib/framing.ts: two copies of numbered base64 lines between BEGIN/END lines
 * carrying a nonce, the size and the sha256), then powers off. Kernel command line:
 *   talos.nonce=HEX        the framing nonce (required to report at all)
 *   talos.reboot=1         the first boot (no marker on the disk) writes a marker to the disk and
 *                          reboots; the next boot reports boots=2
 *   talos.share=IP:PORT    PUT /from-guest.txt, then GET /to-guest.txt over HTTP/1.0
 *   talos.auth=BASE64      sent with both as "Authorization: Basic BASE64" (the live share's user:password)
 *   talos.stay=1           after the report, stay up instead of powering off (screenshot, stop)
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* ---- sha256 (FIPS 180-4) ---- */
typedef struct { uint32_t h[8]; uint64_t len; uint8_t buf[64]; size_t n; } sha256_t;
static const uint32_t K[64] = {
  0x428a2f98,0x71374491,0xb5c0fbcf,0xe9b5dba5,0x3956c25b,0x59f111f1,0x923f82a4,0xab1c5ed5,0xd807aa98,0x12835b01,0x243185be,0x550c7dc3,
  0x72be5d74,0x80deb1fe,0x9bdc06a7,0xc19bf174,0xe49b69c1,0xefbe4786,0x0fc19dc6,0x240ca1cc,0x2de92c6f,0x4a7484aa,0x5cb0a9dc,0x76f988da,
  0x983e5152,0xa831c66d,0xb00327c8,0xbf597fc7,0xc6e00bf3,0xd5a79147,0x06ca6351,0x14292967,0x27b70a85,0x2e1b2138,0x4d2c6dfc,0x53380d13,
  0x650a7354,0x766a0abb,0x81c2c92e,0x92722c85,0xa2bfe8a1,0xa81a664b,0xc24b8b70,0xc76c51a3,0xd192e819,0xd6990624,0xf40e3585,0x106aa070,
  0x19a4c116,0x1e376c08,0x2748774c,0x34b0bcb5,0x391c0cb3,0x4ed8aa4a,0x5b9cca4f,0x682e6ff3,0x748f82ee,0x78a5636f,0x84c87814,0x8cc70208,
  0x90befffa,0xa4506ceb,0xbef9a3f7,0xc67178f2};
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
static void sha_block(sha256_t *s, const uint8_t *p) {
  uint32_t w[64], a, b, c, d, e, f, g, h;
  for (int i = 0; i < 16; i++) w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3), s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3]; e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
    uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}
static void sha_init(sha256_t *s) {
  static const uint32_t iv[8] = {0x6a09e667,0xbb67ae85,0x3c6ef372,0xa54ff53a,0x510e527f,0x9b05688c,0x1f83d9ab,0x5be0cd19};
  memcpy(s->h, iv, sizeof iv); s->len = 0; s->n = 0;
}
static void sha_update(sha256_t *s, const void *data, size_t len) {
  const uint8_t *p = data;
  s->len += len;
  while (len > 0) {
    size_t k = 64 - s->n < len ? 64 - s->n : len;
    memcpy(s->buf + s->n, p, k); s->n += k; p += k; len -= k;
    if (s->n == 64) { sha_block(s, s->buf); s->n = 0; }
  }
}
static void sha_hex(sha256_t *s, char out[65]) {
  uint64_t bits = s->len * 8;
  uint8_t pad = 0x80, z = 0, l[8];
  sha_update(s, &pad, 1);
  while (s->n != 56) sha_update(s, &z, 1);
  for (int i = 0; i < 8; i++) l[i] = (uint8_t)(bits >> (56 - 8 * i));
  sha_update(s, l, 8);
  for (int i = 0; i < 8; i++) sprintf(out + 8 * i, "%08x", s->h[i]);
}

/* ---- a growing JSON buffer ---- */
static char *out; static size_t outlen, outcap;
static void put(const char *fmt, ...) {
  va_list ap; va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap); va_end(ap);
  if (outlen + n + 1 > outcap) { outcap = (outlen + n + 1) * 2; out = realloc(out, outcap); }
  va_start(ap, fmt); vsnprintf(out + outlen, n + 1, fmt, ap); va_end(ap);
  outlen += n;
}
static void put_str(const char *s) {
  put("\"");
  for (; s && *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') put("\\%c", c);
    else if (c == '\n') put("\\n");
    else if (c < 0x20 || c >= 0x7f) put("\\u%04x", c);
    else put("%c", c);
  }
  put("\"");
}
/* "key":"value", */
static void kv(const char *k, const char *v) { put_str(k); put(":"); put_str(v); put(","); }
static void end_obj(char close) { if (out[outlen - 1] == ',') outlen--; put("%c", close); }

static char *slurp(const char *path) {
  int fd = open(path, O_RDONLY);
  if (fd < 0) return NULL;
  size_t cap = 4096, n = 0; char *b = malloc(cap);
  for (;;) {
    if (n + 1024 > cap) { cap *= 2; b = realloc(b, cap); }
    ssize_t r = read(fd, b + n, cap - n - 1);
    if (r <= 0) break;
    n += r;
  }
  close(fd); b[n] = 0;
  return b;
}
static char *slurp_trim(const char *path) {
  char *s = slurp(path);
  if (s) { size_t n = strlen(s); while (n && (s[n - 1] == '\n' || s[n - 1] == ' ')) s[--n] = 0; }
  return s;
}
static void kv_file(const char *k, const char *path) { char *s = slurp_trim(path); if (s) { kv(k, s); free(s); } }
static void kv_link(const char *k, const char *path, int base) {
  char b[1024];
  if (base) { ssize_t n = readlink(path, b, sizeof b - 1); if (n < 0) return; b[n] = 0; char *s = strrchr(b, '/'); kv(k, s ? s + 1 : b); }
  else if (realpath(path, b)) kv(k, b);
}

static char cmdline[4096];
static const char *arg(const char *name) {
  static char v[256];
  size_t l = strlen(name);
  for (char *p = cmdline; (p = strstr(p, name)); p += l)
    if ((p == cmdline || p[-1] == ' ') && p[l] == '=') {
      size_t i = 0; p += l + 1;
      while (p[i] && p[i] != ' ' && p[i] != '\n' && i < sizeof v - 1) { v[i] = p[i]; i++; }
      v[i] = 0; return v;
    }
  return NULL;
}

static void say(const char *fmt, ...) {
  va_list ap; va_start(ap, fmt);
  printf("talos-guest: "); vprintf(fmt, ap); printf("\n"); fflush(stdout);
  va_end(ap);
}

/* ---- the CDs: every file with its size and sha256 ---- */
static void walk(const char *root, const char *rel, int depth) {
  char path[1024]; snprintf(path, sizeof path, "%s%s", root, rel);
  DIR *d = opendir(path);
  if (!d || depth > 8) { if (d) closedir(d); return; }
  struct dirent *e;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char r[1024], full[1100]; snprintf(r, sizeof r, "%s/%s", rel, e->d_name); snprintf(full, sizeof full, "%s%s", root, r);
    struct stat st;
    if (lstat(full, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) { walk(root, r, depth + 1); continue; }
    if (!S_ISREG(st.st_mode)) continue;
    sha256_t s; sha_init(&s); char hex[65], buf[16384];
    int fd = open(full, O_RDONLY); ssize_t n;
    if (fd < 0) continue;
    while ((n = read(fd, buf, sizeof buf)) > 0) sha_update(&s, buf, n);
    close(fd); sha_hex(&s, hex);
    put("{"); kv("path", r); put("\"size\":%lld,", (long long)st.st_size); kv("sha256", hex); end_obj('}'); put(",");
  }
  closedir(d);
}

static void report_blocks(void) {
  put("\"blocks\":[");
  DIR *d = opendir("/sys/block"); struct dirent *e; int cd = 0;
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.' || !strncmp(e->d_name, "ram", 3) || !strncmp(e->d_name, "loop", 4)) continue;
    char p[512]; put("{"); kv("name", e->d_name);
    snprintf(p, sizeof p, "/sys/block/%s/device", e->d_name); kv_link("device", p, 0);
    snprintf(p, sizeof p, "/sys/block/%s/device/model", e->d_name); kv_file("model", p);
    snprintf(p, sizeof p, "/sys/block/%s/device/type", e->d_name); kv_file("scsiType", p);
    snprintf(p, sizeof p, "/sys/block/%s/size", e->d_name); kv_file("sectors", p);
    snprintf(p, sizeof p, "/sys/block/%s/removable", e->d_name); kv_file("removable", p);
    if (!strncmp(e->d_name, "sr", 2)) {
      /* HFS+ first (what a Mac sees), then ISO9660. */
      static const char *fs[] = {"hfsplus", "hfs", "iso9660"};
      char dev[300], mnt[64]; snprintf(dev, sizeof dev, "/dev/%s", e->d_name); snprintf(mnt, sizeof mnt, "/mnt/cd%d", cd++);
      mkdir("/mnt", 0755); mkdir(mnt, 0755);
      put("\"mountErrors\":[");
      unsigned i;
      for (i = 0; i < sizeof fs / sizeof *fs && mount(dev, mnt, fs[i], MS_RDONLY, NULL) != 0; i++) {
        char e[128]; snprintf(e, sizeof e, "%s: %s", fs[i], strerror(errno)); put_str(e); put(",");
      }
      end_obj(']'); put(",");
      if (i < sizeof fs / sizeof *fs) {
        kv("mountedAs", fs[i]); put("\"files\":["); walk(mnt, "", 0); end_obj(']'); put(",");
        umount(mnt);
      }
    }
    end_obj('}'); put(",");
  }
  if (d) closedir(d);
  end_obj(']'); put(",");
}

static void report_net(void) {
  put("\"nics\":[");
  DIR *d = opendir("/sys/class/net"); struct dirent *e;
  int sock = socket(AF_INET, SOCK_DGRAM, 0);
  while (d && (e = readdir(d))) {
    if (e->d_name[0] == '.' || !strcmp(e->d_name, "lo")) continue;
    char p[512]; put("{"); kv("name", e->d_name);
    snprintf(p, sizeof p, "/sys/class/net/%s/device/driver", e->d_name); kv_link("driver", p, 1);
    snprintf(p, sizeof p, "/sys/class/net/%s/device", e->d_name); kv_link("device", p, 0);
    snprintf(p, sizeof p, "/sys/class/net/%s/address", e->d_name); kv_file("mac", p);
    struct ifreq ifr; memset(&ifr, 0, sizeof ifr); strncpy(ifr.ifr_name, e->d_name, IFNAMSIZ - 1);
    if (sock >= 0 && ioctl(sock, SIOCGIFADDR, &ifr) == 0) kv("ipv4", inet_ntoa(((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr));
    end_obj('}'); put(",");
  }
  if (d) closedir(d);
  if (sock >= 0) close(sock);
  end_obj(']'); put(",");
  kv_file("pnp", "/proc/net/pnp");
}

/* ---- HTTP/1.0 to the share: PUT then GET ---- */
/* The response's status line ("HTTP/1.1 201 Created"), as the last request got it. */
static char status_line[128];
static int http(const char *hostport, const char *auth, const char *method, const char *path, const char *body, size_t bodylen, char **resp, size_t *resplen) {
  status_line[0] = 0;
  char host[64]; snprintf(host, sizeof host, "%s", hostport);
  char *colon = strchr(host, ':'); int port = 80;
  if (colon) { *colon = 0; port = atoi(colon + 1); }
  struct sockaddr_in a; memset(&a, 0, sizeof a); a.sin_family = AF_INET; a.sin_port = htons(port);
  if (inet_aton(host, &a.sin_addr) == 0) return -1;
  int s = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {20, 0}; setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv); setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) { say("connect %s: %s", hostport, strerror(errno)); close(s); return -1; }
  char hdr[1024], authhdr[400] = "";
  if (auth && auth[0]) snprintf(authhdr, sizeof authhdr, "Authorization: Basic %s\r\n", auth);
  int n = snprintf(hdr, sizeof hdr, "%s %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: talos-guest\r\n%sContent-Length: %zu\r\nConnection: close\r\n\r\n", method, path, hostport, authhdr, bodylen);
  if (!strcmp(method, "GET")) n = snprintf(hdr, sizeof hdr, "%s %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: talos-guest\r\n%sConnection: close\r\n\r\n", method, path, hostport, authhdr);
  if (write(s, hdr, n) != n || (bodylen && write(s, body, bodylen) != (ssize_t)bodylen)) { close(s); return -1; }
  size_t cap = 65536, len = 0; char *b = malloc(cap); ssize_t r;
  while ((r = read(s, b + len, cap - len - 1)) > 0) { len += r; if (len + 1 >= cap) { cap *= 2; b = realloc(b, cap); } }
  close(s); b[len] = 0;
  int status = 0; sscanf(b, "HTTP/%*s %d", &status);
  { size_t i = 0; while (i < len && i < sizeof status_line - 1 && b[i] != '\r' && b[i] != '\n') { status_line[i] = b[i]; i++; } status_line[i] = 0; }
  char *body0 = strstr(b, "\r\n\r\n");
  *resplen = body0 ? len - (body0 + 4 - b) : 0;
  *resp = malloc(*resplen + 1); memcpy(*resp, body0 ? body0 + 4 : b, *resplen); (*resp)[*resplen] = 0;
  free(b);
  return status;
}

static void report_share(const char *share, const char *auth, const char *nonce) {
  char body[256]; int bl = snprintf(body, sizeof body, "written by the test guest %s\n", nonce);
  char *resp; size_t rl;
  put("\"share\":{"); kv("address", share);
  if (auth[0]) put("\"auth\":true,");
  int st = http(share, auth, "PUT", "/from-guest.txt", body, bl, &resp, &rl);
  put("\"putStatus\":%d,", st); if (status_line[0]) kv("putStatusLine", status_line);
  if (st >= 0) free(resp);
  st = http(share, auth, "GET", "/to-guest.txt", NULL, 0, &resp, &rl);
  put("\"getStatus\":%d,", st); if (status_line[0]) kv("getStatusLine", status_line);
  if (st >= 0) {
    sha256_t s; sha_init(&s); sha_update(&s, resp, rl); char hex[65]; sha_hex(&s, hex);
    put("\"getSize\":%zu,", rl); kv("getSha256", hex); free(resp);
  }
  end_obj('}'); put(",");
}

/* ---- framing (tests/e2e/power9/lib/framing.ts) ---- */
static void emit(const char *name, const char *data, size_t len, const char *nonce) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  sha256_t s; sha_init(&s); sha_update(&s, data, len); char hex[65]; sha_hex(&s, hex);
  for (int copy = 0; copy < 2; copy++) {
    printf("@@TMBOX-BEGIN %s %s %zu %s\n", nonce, name, len, hex);
    int line = 1; char l[80]; int ll = 0;
    for (size_t i = 0; i < len; i += 3) {
      uint32_t v = (uint8_t)data[i] << 16 | (i + 1 < len ? (uint8_t)data[i + 1] << 8 : 0) | (i + 2 < len ? (uint8_t)data[i + 2] : 0);
      l[ll++] = b64[v >> 18 & 63]; l[ll++] = b64[v >> 12 & 63];
      l[ll++] = i + 1 < len ? b64[v >> 6 & 63] : '='; l[ll++] = i + 2 < len ? b64[v & 63] : '=';
      if (ll == 76 || i + 3 >= len) { l[ll] = 0; printf("@%d:%s:\n", line++, l); ll = 0; fflush(stdout); }
    }
    printf("@@TMBOX-END %s %s\n", nonce, name); fflush(stdout);
  }
}

/* The reboot marker lives at byte 1 MiB of the hard disk (a fresh disk is all zeroes). */
#define MARK "TALOS-GUEST-REBOOTED"
static int marker(const char *disk, int write_it) {
  int fd = open(disk, write_it ? O_RDWR : O_RDONLY); char b[32] = {0};
  if (fd < 0) return -1;
  int r;
  if (write_it) { r = pwrite(fd, MARK, sizeof MARK, 1 << 20) == sizeof MARK; fsync(fd); }
  else r = pread(fd, b, sizeof MARK, 1 << 20) == sizeof MARK && !memcmp(b, MARK, sizeof MARK);
  close(fd);
  return r;
}

int main(void) {
  mkdir("/proc", 0755); mkdir("/sys", 0755); mkdir("/dev", 0755);
  mount("proc", "/proc", "proc", 0, NULL);
  mount("sysfs", "/sys", "sysfs", 0, NULL);
  mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  int con = open("/dev/console", O_RDWR);
  if (con >= 0) { dup2(con, 1); dup2(con, 2); }
  char *c = slurp_trim("/proc/cmdline"); snprintf(cmdline, sizeof cmdline, "%s", c ? c : ""); free(c);
  const char *n = arg("talos.nonce");
  char nonce[64]; snprintf(nonce, sizeof nonce, "%s", n ? n : "none");
  const char *sh = arg("talos.share");
  char share[64]; snprintf(share, sizeof share, "%s", sh ? sh : "");
  const char *au = arg("talos.auth");
  char auth[256]; snprintf(auth, sizeof auth, "%s", au ? au : "");
  int want_reboot = arg("talos.reboot") != NULL;
  say("init started, nonce %s", nonce);
  /* USB devices and the DHCP lease can trail init's start: wait (at most 20 s) for an input device and a disk. */
  for (int i = 0; i < 40; i++) {
    char *inp = slurp("/proc/bus/input/devices"); int have = inp && strstr(inp, "I: Bus");
    free(inp);
    if (have && access("/sys/block/sda", F_OK) == 0 && i >= 4) break;
    usleep(500000);
  }
  int second = marker("/dev/sda", 0) == 1;
  put("{"); kv("nonce", nonce); put("\"boot\":%d,", second ? 2 : 1); kv("cmdline", cmdline);
  put("\"uptimeS\":"); { char *u = slurp_trim("/proc/uptime"); put("%s,", u ? strtok(u, " ") : "0"); free(u); }
  kv_file("cpuinfo", "/proc/cpuinfo");
  { char *m = slurp("/proc/meminfo"); long kb = 0; if (m) { char *p = strstr(m, "MemTotal:"); if (p) kb = atol(p + 9); free(m); } put("\"memTotalKb\":%ld,", kb); }
  report_blocks();
  report_net();
  kv_file("inputDevices", "/proc/bus/input/devices");
  put("\"framebuffer\":{");
  kv_file("name", "/sys/class/graphics/fb0/name"); kv_file("virtualSize", "/sys/class/graphics/fb0/virtual_size");
  kv_file("bitsPerPixel", "/sys/class/graphics/fb0/bits_per_pixel");
  end_obj('}'); put(",");
  if (share[0]) report_share(share, auth, nonce);
  end_obj('}');
  put("\n");
  char rname[32]; snprintf(rname, sizeof rname, "report-%d.json", second ? 2 : 1);
  emit(rname, out, outlen, nonce);
  printf("@@TMBOX-DONE %s\n", nonce); fflush(stdout);
  sync();
  if (want_reboot && !second) {
    int w = marker("/dev/sda", 1);
    say("marker written (%d): rebooting", w);
    sleep(1);
    reboot(RB_AUTOBOOT);
  }
  if (arg("talos.stay")) {
    say("staying up (talos.stay)");
    for (;;) pause();
  }
  say("powering off");
  sleep(1);
  reboot(RB_POWER_OFF);
  for (;;) pause();
}
