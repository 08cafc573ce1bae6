#include "sessionsmodel.h"

#include "devicename.h"
#include "idtext.h"

#include <QCoreApplication>
#include <QJsonArray>
#include <QLocale>

namespace tianyi::admin {

SessionRow SessionRow::fromJson(const QJsonObject &j)
{
    SessionRow r;
    r.id = j.value(QStringLiteral("id")).toString();
    r.userId = j.value(QStringLiteral("user_id")).toInteger();
    r.username = j.value(QStringLiteral("username")).toString();
    r.device = j.value(QStringLiteral("device")).toString();
    r.userAgent = j.value(QStringLiteral("user_agent")).toString();
    r.since = QDateTime::fromString(j.value(QStringLiteral("since")).toString(), Qt::ISODateWithMs);
    r.state = j.value(QStringLiteral("state")).toString();
    r.currentTurn = j.value(QStringLiteral("current_turn")).toInt();
    r.turns = j.value(QStringLiteral("turns")).toInt();
    r.lastTtftMs = j.value(QStringLiteral("last_ttft_ms")).toInteger(-1);
    r.lastFirstAudioMs = j.value(QStringLiteral("last_first_audio_ms")).toInteger(-1);
    r.lastTurnId = j.value(QStringLiteral("last_turn_id")).toInteger();
    return r;
}

QString SessionRow::deviceText() const
{
    return device.isEmpty() ? shortDeviceName(userAgent) : elideDeviceName(device);
}

QString SessionRow::deviceDetails() const
{
    QStringList lines;
    if (!device.isEmpty())
        lines << SessionsModel::tr("Device (as the client names itself): %1").arg(device);
    if (!userAgent.isEmpty())
        lines << SessionsModel::tr("User-Agent: %1").arg(userAgent);
    return lines.join(QLatin1Char('\n'));
}

SessionsModel::SessionsModel(QObject *parent)
    : QAbstractTableModel(parent)
{
}

int SessionsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_rows.size());
}

int SessionsModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

namespace {
QString millis(qint64 ms)
{
    return ms < 0 ? QStringLiteral("–") : SessionsModel::tr("%1 ms").arg(ms);
}

// Session states and turn statuses as the server names them, and their words for the operator.
const char *const kContext = "tianyi::admin::SessionsModel";
const char *const kWords[][2] = {
    {"idle", QT_TRANSLATE_NOOP("tianyi::admin::SessionsModel", "idle")},
    {"thinking", QT_TRANSLATE_NOOP("tianyi::admin::SessionsModel", "thinking")},
    {"speaking", QT_TRANSLATE_NOOP("tianyi::admin::SessionsModel", "speaking")},
    {"completed", QT_TRANSLATE_NOOP("tianyi::admin::SessionsModel", "completed")},
    {"interrupted", QT_TRANSLATE_NOOP("tianyi::admin::SessionsModel", "interrupted")},
    {"failed", QT_TRANSLATE_NOOP("tianyi::admin::SessionsModel", "failed")},
};

QString stateText(const QString &id)
{
    return idText(kWords, kContext, id);
}
} // namespace

QString turnStatusText(const QString &status)
{
    return stateText(status);
}

QVariant SessionsModel::data(const QModelIndex &index, int role) const
{
    const SessionRow *r = row(index.row());
    if (!r || !index.isValid())
        return {};
    if (role == Qt::ToolTipRole) {
        const QString details = index.column() == Device ? r->deviceDetails() : QString();
        return details.isEmpty() ? tr("Session %1 of user #%2").arg(r->id).arg(r->userId) : details;
    }
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case User: return r->username;
    case Device: return r->deviceText().isEmpty() ? QStringLiteral("–") : r->deviceText();
    case Since: return QLocale().toString(r->since.toLocalTime().time(), QLocale::ShortFormat);
    case State: return r->currentTurn > 0 && r->state != QLatin1String("idle") ? tr("%1 (turn %2)").arg(stateText(r->state)).arg(r->currentTurn)
                                                                              : stateText(r->state);
    case Turns: return r->turns;
    case LastTtft: return millis(r->lastTtftMs);
    case FirstAudio: return millis(r->lastFirstAudioMs);
    case LastTurn: return r->lastStatus.isEmpty() ? QStringLiteral("–") : turnStatusText(r->lastStatus);
    default: return {};
    }
}

QVariant SessionsModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case User: return tr("User");
    case Device: return tr("Device");
    case Since: return tr("Since");
    case State: return tr("State");
    case Turns: return tr("Turns");
    case LastTtft: return tr("Last TTFT");
    case FirstAudio: return tr("First audio");
    case LastTurn: return tr("Last turn");
    default: return {};
    }
}

void SessionsModel::retranslate()
{
    emit headerDataChanged(Qt::Horizontal, 0, ColumnCount - 1);
    if (!m_rows.isEmpty())
        emit dataChanged(index(0, 0), index(int(m_rows.size()) - 1, ColumnCount - 1));
}

void SessionsModel::reset(const QJsonArray &sessions)
{
    beginResetModel();
    m_rows.clear();
    for (const QJsonValue &v : sessions) {
        if (m_rows.size() >= kMaxRows)
            break;
        m_rows.append(SessionRow::fromJson(v.toObject()));
    }
    endResetModel();
}

void SessionsModel::clear()
{
    reset({});
}

int SessionsModel::rowOf(const QString &sessionId) const
{
    for (int i = 0; i < m_rows.size(); ++i)
        if (m_rows.at(i).id == sessionId)
            return i;
    return -1;
}

void SessionsModel::changed(int row)
{
    emit dataChanged(index(row, 0), index(row, ColumnCount - 1));
}

void SessionsModel::apply(const QJsonObject &m)
{
    const QString type = m.value(QStringLiteral("type")).toString();
    if (type == QLatin1String("hello")) {
        reset(m.value(QStringLiteral("sessions")).toArray());
        return;
    }
    if (type == QLatin1String("session_opened")) {
        const SessionRow r = SessionRow::fromJson(m.value(QStringLiteral("session")).toObject());
        if (rowOf(r.id) >= 0 || m_rows.size() >= kMaxRows)
            return;
        beginInsertRows({}, int(m_rows.size()), int(m_rows.size()));
        m_rows.append(r);
        endInsertRows();
        return;
    }
    const int i = rowOf(m.value(QStringLiteral("session_id")).toString());
    if (i < 0)
        return;
    SessionRow &r = m_rows[i];
    if (type == QLatin1String("session_closed")) {
        beginRemoveRows({}, i, i);
        m_rows.removeAt(i);
        endRemoveRows();
    } else if (type == QLatin1String("turn_started")) {
        r.currentTurn = m.value(QStringLiteral("turn")).toInt();
        r.state = QStringLiteral("thinking"); // until turn_speaking: no reply text yet
        changed(i);
    } else if (type == QLatin1String("turn_speaking")) {
        if (r.currentTurn == m.value(QStringLiteral("turn")).toInt()) {
            r.state = QStringLiteral("speaking");
            changed(i);
        }
    } else if (type == QLatin1String("turn_ended")) {
        const QJsonObject stats = m.value(QStringLiteral("stats")).toObject();
        const int turn = m.value(QStringLiteral("turn")).toInt();
        r.turns = qMax(r.turns, turn);
        if (r.currentTurn == turn) {
            r.currentTurn = 0;
            r.state = QStringLiteral("idle");
        }
        r.lastTtftMs = stats.value(QStringLiteral("ttft_ms")).toInteger(-1);
        r.lastFirstAudioMs = stats.value(QStringLiteral("first_audio_ms")).toInteger(-1);
        r.lastTurnId = m.value(QStringLiteral("turn_id")).toInteger();
        r.lastStatus = m.value(QStringLiteral("status")).toString();
        changed(i);
    }
}

} // namespace tianyi::admin
