// tianyi-authbench: logins per second, and /healthz latency with and without a login storm,
// against a running tianyi-server. Prints one JSON object (and a Markdown summary with --markdown).
//
//   tianyi-authbench --server http://127.0.0.1:8080 [--users 16] [--concurrency 8]
//                    [--seconds 10] [--probes 2000] [--markdown]

#include <QCommandLineParser>
#include <QCoreApplication>
#include <QDateTime>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QTimer>
#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <vector>

namespace {

struct Percentiles {
    double p50 = 0, p99 = 0, max = 0;
    int count = 0;
};

Percentiles percentiles(std::vector<double> v)
{
    Percentiles p;
    p.count = int(v.size());
    if (v.empty())
        return p;
    std::sort(v.begin(), v.end());
    auto at = [&](double q) { return v[std::min(v.size() - 1, size_t(q * double(v.size() - 1) + 0.5))]; };
    p.p50 = at(0.50);
    p.p99 = at(0.99);
    p.max = v.back();
    return p;
}

QJsonObject toJson(const Percentiles &p)
{
    return {{QStringLiteral("count"), p.count}, {QStringLiteral("p50_ms"), p.p50}, {QStringLiteral("p99_ms"), p.p99}, {QStringLiteral("max_ms"), p.max}};
}

class Bench : public QObject
{
public:
    Bench(QString server, int users, int concurrency, int seconds, int probes)
        : m_server(std::move(server)), m_users(users), m_concurrency(concurrency), m_seconds(seconds), m_probes(probes)
    {
        for (int i = 0; i < concurrency; ++i)
            m_stormNams.push_back(std::make_unique<QNetworkAccessManager>());
    }

    void run(std::function<void(QJsonObject)> done)
    {
        m_done = std::move(done);
        registerUsers(0);
    }

private:
    QNetworkRequest jsonRequest(const QString &path) const
    {
        QNetworkRequest r(QUrl(m_server + path));
        r.setHeader(QNetworkRequest::ContentTypeHeader, QStringLiteral("application/json"));
        return r;
    }
    QString userName(int i) const { return QStringLiteral("bench_%1_%2").arg(m_runId).arg(i); }
    static QByteArray password(int i) { return "bench password " + QByteArray::number(i); }

    void registerUsers(int i)
    {
        if (i == m_users) {
            probeHealth(false, [this](Percentiles quiet) {
                m_result.insert(QStringLiteral("healthz_quiet"), toJson(quiet));
                startStorm();
            });
            return;
        }
        const QByteArray body = QJsonDocument(QJsonObject{{QStringLiteral("username"), userName(i)},
                                                          {QStringLiteral("password"), QString::fromLatin1(password(i))}}).toJson();
        QNetworkReply *reply = m_probeNam.post(jsonRequest(QStringLiteral("/api/v1/auth/register")), body);
        connect(reply, &QNetworkReply::finished, this, [this, reply, i]() {
            const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
            reply->deleteLater();
            if (status != 201) {
                std::fprintf(stderr, "authbench: registration failed with HTTP %d\n", status);
                QCoreApplication::exit(1);
                return;
            }
            registerUsers(i + 1);
        });
    }

    // Sequential /healthz probes on one keep-alive connection.
    void probeHealth(bool duringStorm, std::function<void(Percentiles)> finished)
    {
        auto samples = std::make_shared<std::vector<double>>();
        auto next = std::make_shared<std::function<void()>>();
        *next = [this, samples, next, finished, duringStorm]() {
            if (int(samples->size()) == m_probes || (duringStorm && !m_stormRunning)) {
                finished(percentiles(*samples));
                *next = nullptr; // break the self-reference
                return;
            }
            auto timer = std::make_shared<QElapsedTimer>();
            timer->start();
            QNetworkReply *reply = m_probeNam.get(QNetworkRequest(QUrl(m_server + QStringLiteral("/healthz"))));
            connect(reply, &QNetworkReply::finished, this, [reply, timer, samples, next]() {
                samples->push_back(double(timer->nsecsElapsed()) / 1e6);
                reply->deleteLater();
                if (*next)
                    (*next)();
            });
        };
        (*next)();
    }

    void startStorm()
    {
        m_stormRunning = true;
        m_stormTimer.start();
        for (int w = 0; w < m_concurrency; ++w)
            loginLoop(w, w % m_users);
        probeHealth(true, [this](Percentiles loaded) { m_result.insert(QStringLiteral("healthz_during_login_storm"), toJson(loaded)); });
        QTimer::singleShot(m_seconds * 1000, this, [this]() { m_stormRunning = false; });
    }

    void loginLoop(int worker, int user)
    {
        if (!m_stormRunning) {
            if (++m_workersDone == m_concurrency)
                finish();
            return;
        }
        const QByteArray body = QJsonDocument(QJsonObject{{QStringLiteral("grant_type"), QStringLiteral("password")},
                                                          {QStringLiteral("username"), userName(user)},
                                                          {QStringLiteral("password"), QString::fromLatin1(password(user))}}).toJson();
        auto timer = std::make_shared<QElapsedTimer>();
        timer->start();
        QNetworkReply *reply = m_stormNams[size_t(worker)]->post(jsonRequest(QStringLiteral("/api/v1/auth/token")), body);
        connect(reply, &QNetworkReply::finished, this, [this, reply, worker, user, timer]() {
            const int status = reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
            reply->deleteLater();
            if (status == 200) {
                ++m_logins;
                m_loginLatencies.push_back(double(timer->nsecsElapsed()) / 1e6);
            } else {
                ++m_loginErrors;
            }
            loginLoop(worker, (user + 1) % m_users);
        });
    }

    void finish()
    {
        const double seconds = double(m_stormTimer.nsecsElapsed()) / 1e9;
        m_result.insert(QStringLiteral("logins"), m_logins);
        m_result.insert(QStringLiteral("login_errors"), m_loginErrors);
        m_result.insert(QStringLiteral("storm_seconds"), seconds);
        m_result.insert(QStringLiteral("logins_per_second"), double(m_logins) / seconds);
        m_result.insert(QStringLiteral("login_latency"), toJson(percentiles(m_loginLatencies)));
        m_result.insert(QStringLiteral("concurrency"), m_concurrency);
        m_done(m_result);
    }

    QString m_server;
    int m_users, m_concurrency, m_seconds, m_probes;
    QString m_runId = QString::number(QDateTime::currentMSecsSinceEpoch() % 100000000);
    QNetworkAccessManager m_probeNam;
    std::vector<std::unique_ptr<QNetworkAccessManager>> m_stormNams; // one per worker: no 6-connection cap
    bool m_stormRunning = false;
    QElapsedTimer m_stormTimer;
    int m_workersDone = 0;
    int m_logins = 0;
    int m_loginErrors = 0;
    std::vector<double> m_loginLatencies;
    QJsonObject m_result;
    std::function<void(QJsonObject)> m_done;
};

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Login throughput and /healthz latency against a running tianyi-server."));
    parser.addHelpOption();
    const QCommandLineOption serverOpt(QStringLiteral("server"), QStringLiteral("Server base URL."), QStringLiteral("URL"),
                                       QStringLiteral("http://127.0.0.1:8080"));
    const QCommandLineOption usersOpt(QStringLiteral("users"), QStringLiteral("Accounts to create and log in with."), QStringLiteral("N"), QStringLiteral("16"));
    const QCommandLineOption concOpt(QStringLiteral("concurrency"), QStringLiteral("Concurrent login loops."), QStringLiteral("N"), QStringLiteral("8"));
    const QCommandLineOption secondsOpt(QStringLiteral("seconds"), QStringLiteral("Duration of the login storm."), QStringLiteral("S"), QStringLiteral("10"));
    const QCommandLineOption probesOpt(QStringLiteral("probes"), QStringLiteral("/healthz probes in the quiet phase."), QStringLiteral("N"), QStringLiteral("2000"));
    parser.addOptions({serverOpt, usersOpt, concOpt, secondsOpt, probesOpt});
    parser.process(app);

    const int users = qMax(1, parser.value(usersOpt).toInt());
    Bench bench(parser.value(serverOpt), users, qMax(1, parser.value(concOpt).toInt()), qMax(1, parser.value(secondsOpt).toInt()),
                qMax(1, parser.value(probesOpt).toInt()));
    bench.run([](QJsonObject result) {
        std::printf("%s\n", QJsonDocument(result).toJson(QJsonDocument::Indented).constData());
        QCoreApplication::exit(0);
    });
    return app.exec();
}
