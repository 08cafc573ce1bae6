#include "storage/sqlitefile.h"

#include <QFile>
#include <sqlite3.h>

namespace tianyi {

namespace {

constexpr int kIntegrityProblemsShown = 10;

} // namespace

SqliteFile::~SqliteFile()
{
    close();
}

bool SqliteFile::open(const QString &path, Mode mode, int busyTimeoutMs, QString *error)
{
    close();
    int flags = SQLITE_OPEN_NOMUTEX;
    switch (mode) {
    case Mode::ReadOnly: flags |= SQLITE_OPEN_READONLY; break;
    case Mode::ReadWrite: flags |= SQLITE_OPEN_READWRITE; break;
    case Mode::Create: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE; break;
    }
    m_path = path;
    const int rc = sqlite3_open_v2(QFile::encodeName(path).constData(), &m_db, flags, nullptr);
    if (rc != SQLITE_OK) {
        *error = QStringLiteral("cannot open %1: %2").arg(path, m_db ? message() : QString::fromUtf8(sqlite3_errstr(rc)));
        close();
        return false;
    }
    sqlite3_extended_result_codes(m_db, 1);
    sqlite3_busy_timeout(m_db, busyTimeoutMs);
    return true;
}

void SqliteFile::close()
{
    if (m_db) {
        sqlite3_close_v2(m_db);
        m_db = nullptr;
    }
}

QString SqliteFile::message() const
{
    return QString::fromUtf8(sqlite3_errmsg(m_db));
}

bool SqliteFile::exec(const QString &sql, QString *error, int *code)
{
    char *text = nullptr;
    const int rc = sqlite3_exec(m_db, sql.toUtf8().constData(), nullptr, nullptr, &text);
    if (code)
        *code = rc;
    if (rc == SQLITE_OK)
        return true;
    *error = text ? QString::fromUtf8(text) : QString::fromUtf8(sqlite3_errstr(rc));
    sqlite3_free(text);
    return false;
}

std::optional<QStringList> SqliteFile::column(const QString &sql, QString *error, int *code)
{
    sqlite3_stmt *stmt = nullptr;
    int rc = sqlite3_prepare_v2(m_db, sql.toUtf8().constData(), -1, &stmt, nullptr);
    QStringList out;
    while (rc == SQLITE_OK || rc == SQLITE_ROW) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW)
            out << QString::fromUtf8(reinterpret_cast<const char *>(sqlite3_column_text(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    if (code)
        *code = rc;
    if (rc != SQLITE_DONE) {
        *error = message();
        return std::nullopt;
    }
    return out;
}

std::optional<qint64> SqliteFile::integer(const QString &sql, QString *error)
{
    const auto rows = column(sql, error);
    if (!rows)
        return std::nullopt;
    if (rows->isEmpty()) {
        *error = QStringLiteral("no row: %1").arg(sql);
        return std::nullopt;
    }
    bool ok = false;
    const qint64 value = rows->first().toLongLong(&ok);
    if (!ok) {
        *error = QStringLiteral("not an integer: %1").arg(sql);
        return std::nullopt;
    }
    return value;
}

QString SqliteFile::integrityProblems(QString *error)
{
    const auto rows = column(QStringLiteral("PRAGMA integrity_check(%1)").arg(kIntegrityProblemsShown), error);
    if (!rows)
        return *error;
    if (rows->size() == 1 && rows->first() == QLatin1String("ok"))
        return {};
    return rows->join(QStringLiteral("; "));
}

bool SqliteFile::hasSqliteHeader(const QString &path)
{
    static const QByteArray magic("SQLite format 3\0", 16);
    QFile f(path);
    return f.open(QIODevice::ReadOnly) && f.read(magic.size()) == magic;
}

bool SqliteFile::isBusy(int code)
{
    const int primary = code & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

} // namespace tianyi
