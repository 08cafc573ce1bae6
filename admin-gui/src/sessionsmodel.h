#pragma once
// The live chat sessions: filled from GET sessions / the feed's hello, kept live from the feed's
// session_opened/closed and turn_started/ended messages. One row per session, oldest first.

#include <QAbstractTableModel>
#include <QDateTime>
#include <QJsonObject>
#include <QVector>

namespace tianyi::admin {

struct SessionRow {
    QString id;
    qint64 userId = 0;
    QString username;
    QString device;      // ?device= of the socket (the client's own short name), if given
    QString userAgent;   // the socket handshake's User-Agent, if sent
    QDateTime since;
    QString state;       // idle | thinking | speaking
    int currentTurn = 0; // 0: none running
    int turns = 0;
    qint64 lastTtftMs = -1;
    qint64 lastFirstAudioMs = -1;
    qint64 lastTurnId = 0;
    QString lastStatus;  // of the last ended turn, as the feed saw it

    static SessionRow fromJson(const QJsonObject &json);
    // What the Device column shows: ?device=, else the User-Agent in a few words ("Chrome on Android").
    QString deviceText() const;
    // Its tooltip: the full strings.
    QString deviceDetails() const;
};

// "completed" / "interrupted" / "failed" in the current language.
QString turnStatusText(const QString &status);

class SessionsModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column { User, Device, Since, State, Turns, LastTtft, FirstAudio, LastTurn, ColumnCount };
    static constexpr int kMaxRows = 10000; // far above any server's session cap; bounds a broken feed

    explicit SessionsModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    // The "sessions" array of GET sessions or hello: replaces everything.
    void reset(const QJsonArray &sessions);
    // One feed message (other types are ignored).
    void apply(const QJsonObject &message);
    void clear();

    const SessionRow *row(int row) const { return row >= 0 && row < m_rows.size() ? &m_rows.at(row) : nullptr; }
    int rowOf(const QString &sessionId) const;
    // Header texts follow the language: call after a switch.
    void retranslate();

private:
    void changed(int row);

    QVector<SessionRow> m_rows;
};

} // namespace tianyi::admin
