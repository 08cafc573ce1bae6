#include "net/clientaddress.h"

namespace tianyi {

namespace {

// Every X-Forwarded-For entry, in order (several header lines are one list, RFC 9110 5.3).
QList<QByteArray> xForwardedForNodes(const QList<QPair<QByteArray, QByteArray>> &headers)
{
    QList<QByteArray> nodes;
    for (const auto &h : headers)
        if (h.first == "x-forwarded-for")
            for (const QByteArray &part : h.second.split(','))
                nodes << part.trimmed();
    return nodes;
}

// The for= parameter of every Forwarded element, in order. Elements are separated by commas, their
// pairs by semicolons; a quoted value holds no comma or semicolon that matters here (an IPv6
// address with a port is "[v6]:port").
QList<QByteArray> forwardedForNodes(const QList<QPair<QByteArray, QByteArray>> &headers)
{
    QList<QByteArray> nodes;
    for (const auto &h : headers) {
        if (h.first != "forwarded")
            continue;
        for (const QByteArray &element : h.second.split(',')) {
            QByteArray node;
            for (const QByteArray &pair : element.split(';')) {
                const QByteArray p = pair.trimmed();
                if (p.size() > 4 && p.left(4).toLower() == "for=")
                    node = p.mid(4);
            }
            nodes << node; // an element without for= is an unknown hop
        }
    }
    return nodes;
}

} // namespace

QHostAddress canonicalAddress(const QHostAddress &address)
{
    bool isV4 = false;
    const quint32 v4 = address.toIPv4Address(&isV4);
    return isV4 ? QHostAddress(v4) : address;
}

QString addressLimitKey(const QHostAddress &address)
{
    const QHostAddress a = canonicalAddress(address);
    if (a.protocol() != QAbstractSocket::IPv6Protocol)
        return a.toString();
    Q_IPV6ADDR bytes = a.toIPv6Address();
    for (int i = 8; i < 16; ++i)
        bytes[i] = 0;
    return QHostAddress(bytes).toString() + QStringLiteral("/64");
}

QHostAddress parseForwardedNode(QByteArray node)
{
    node = node.trimmed();
    if (node.size() >= 2 && node.startsWith('"') && node.endsWith('"'))
        node = node.mid(1, node.size() - 2);
    if (node.startsWith('[')) { // [v6] or [v6]:port
        const int close = node.indexOf(']');
        if (close < 0)
            return {};
        const QByteArray rest = node.mid(close + 1);
        if (!rest.isEmpty() && !rest.startsWith(':'))
            return {};
        node = node.mid(1, close - 1);
    } else if (node.count(':') == 1) { // a.b.c.d:port
        node = node.left(node.indexOf(':'));
    }
    QHostAddress address;
    if (node.isEmpty() || !address.setAddress(QString::fromLatin1(node)) || !address.scopeId().isEmpty())
        return {};
    return canonicalAddress(address);
}

TrustedProxies::TrustedProxies(const QStringList &entries)
{
    for (const QString &entry : entries) {
        QPair<QHostAddress, int> subnet;
        if (entry.contains(QLatin1Char('/'))) {
            subnet = QHostAddress::parseSubnet(entry);
        } else {
            const QHostAddress a(entry);
            subnet = {a, a.protocol() == QAbstractSocket::IPv4Protocol ? 32 : 128};
        }
        if (subnet.first.isNull())
            continue;
        // An IPv4 entry also matches the IPv4-mapped form, which canonicalAddress() folds anyway.
        m_subnets.append({canonicalAddress(subnet.first), subnet.second});
    }
}

bool TrustedProxies::contains(const QHostAddress &address) const
{
    const QHostAddress a = canonicalAddress(address);
    for (const auto &subnet : m_subnets)
        if (a.isInSubnet(subnet.first, subnet.second))
            return true;
    return false;
}

QHostAddress TrustedProxies::forwardedClient(const QHostAddress &peer, const QList<QPair<QByteArray, QByteArray>> &headers) const
{
    if (!contains(peer))
        return {};
    QList<QByteArray> nodes = xForwardedForNodes(headers);
    if (nodes.isEmpty())
        nodes = forwardedForNodes(headers);
    // Right to left: each trusted hop vouches for the one before it; the first untrusted one is the
    // client. What stands left of it was written by the client and means nothing.
    QHostAddress client;
    for (auto it = nodes.crbegin(); it != nodes.crend(); ++it) {
        const QHostAddress node = parseForwardedNode(*it);
        if (node.isNull())
            return {}; // an unknown or malformed hop: the proxy is the best we know
        client = node;
        if (!contains(node))
            break;
    }
    return client; // all hops trusted: the left-most one
}

} // namespace tianyi
