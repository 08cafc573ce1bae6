#pragma once
// Who the client of a request is when reverse proxies stand in front of the server. Only a TCP peer
// listed in server.trusted_proxies is believed about the client: then the right-most address of its
// X-Forwarded-For (or, without one, of Forwarded: for=, RFC 7239) that is not itself a trusted proxy
// is the client. From any other peer both headers are ignored, so a client cannot choose its address
// for the per-IP limits.
//
// X-Forwarded-For wins over Forwarded because the common proxy configurations (nginx's
// $proxy_add_x_forwarded_for, HAProxy's option forwardfor) append to X-Forwarded-For and pass a
// client's own Forwarded header through untouched; the shipped snippets also delete the other header.

#include <QByteArray>
#include <QHostAddress>
#include <QList>
#include <QPair>
#include <QStringList>

namespace tianyi {

class TrustedProxies
{
public:
    TrustedProxies() = default;
    // Entries are addresses or CIDR subnets (validated by the configuration); bad ones are skipped.
    explicit TrustedProxies(const QStringList &entries);

    bool isEmpty() const { return m_subnets.isEmpty(); }
    bool contains(const QHostAddress &address) const;

    // The client behind `peer`, or a null address when the peer itself is the client (not a trusted
    // proxy, no usable forwarding header). `headers` have lower-case names.
    QHostAddress forwardedClient(const QHostAddress &peer, const QList<QPair<QByteArray, QByteArray>> &headers) const;

private:
    QList<QPair<QHostAddress, int>> m_subnets;
};

// An address as one family: an IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes IPv4, so a limit
// keyed by address counts a client once whichever way the socket saw it.
QHostAddress canonicalAddress(const QHostAddress &address);

// The key per-address limits count a client under: an IPv4 address, or the /64 of an IPv6 address
// (one host usually controls a whole /64: counting single addresses would be trivial to evade).
QString addressLimitKey(const QHostAddress &address);

// One node of a forwarding header: "192.0.2.1", "192.0.2.1:4711", "2001:db8::1", "[2001:db8::1]:4711",
// optionally quoted. Null for "unknown", obfuscated identifiers and anything malformed.
QHostAddress parseForwardedNode(QByteArray node);

} // namespace tianyi
