#pragma once
// A direct SQLite connection for work outside the server's storage thread: the offline and online
// copies of tianyi-server --backup / --restore. These run in their own short-lived process, need
// SQLite's own result codes (SQLITE_BUSY decides between "retry" and "a server holds the file") and
// the backup API, which the Qt driver does not expose. The Qt QSQLITE plugin of Debian links the same
// system libsqlite3, so both agree on the file format and on POSIX locking.

#include <QString>
#include <QStringList>
#include <optional>

struct sqlite3;

namespace tianyi {

class SqliteFile
{
public:
    enum class Mode { ReadOnly, ReadWrite, Create };

    SqliteFile() = default;
    ~SqliteFile();
    SqliteFile(const SqliteFile &) = delete;
    SqliteFile &operator=(const SqliteFile &) = delete;

    // Opens path (never creates it unless mode is Create). busyTimeoutMs: how long a statement
    // waits for another connection's lock before it fails with SQLITE_BUSY.
    bool open(const QString &path, Mode mode, int busyTimeoutMs, QString *error);
    void close();
    bool isOpen() const { return m_db != nullptr; }

    // Runs one or more statements; on failure returns false with SQLite's message (and code).
    bool exec(const QString &sql, QString *error, int *code = nullptr);
    // First column of every row of one statement; nullopt (and error) on failure.
    std::optional<QStringList> column(const QString &sql, QString *error, int *code = nullptr);
    // First column of the first row as an integer; nullopt on failure or no row.
    std::optional<qint64> integer(const QString &sql, QString *error);

    // PRAGMA integrity_check: empty when the file is sound, else the problems found (the first 10).
    QString integrityProblems(QString *error);

    sqlite3 *handle() const { return m_db; }
    QString path() const { return m_path; }

    // The 16 bytes every SQLite 3 database file starts with.
    static bool hasSqliteHeader(const QString &path);
    // True for SQLITE_BUSY and SQLITE_LOCKED (including their extended codes).
    static bool isBusy(int code);

private:
    QString message() const;

    sqlite3 *m_db = nullptr;
    QString m_path;
};

} // namespace tianyi
