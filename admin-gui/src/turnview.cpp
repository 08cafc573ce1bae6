#include "turnview.h"

#include "adminapi.h"
#include "audioplayer.h"
#include "idtext.h"
#include "sessionsmodel.h"
#include "statuslabel.h"
#include "waveformwidget.h"

#include <tianyi/wav.h>

#include <QEvent>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QIntValidator>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QTextBrowser>
#include <QVBoxLayout>

namespace tianyi::admin {

namespace {
// The bundled persona's emotion ids (resources/personas/luotianyi.json) in the operator's language;
// other personas' ids are shown as the server names them.
const char *const kEmotions[][2] = {
    {"happy", QT_TRANSLATE_NOOP("tianyi::admin::TurnView", "happy")},
    {"angry", QT_TRANSLATE_NOOP("tianyi::admin::TurnView", "angry")},
    {"sad", QT_TRANSLATE_NOOP("tianyi::admin::TurnView", "sad")},
    {"surprised", QT_TRANSLATE_NOOP("tianyi::admin::TurnView", "surprised")},
    {"coquettish", QT_TRANSLATE_NOOP("tianyi::admin::TurnView", "coquettish")},
    {"calm", QT_TRANSLATE_NOOP("tianyi::admin::TurnView", "calm")},
};

QString emotionText(const QString &id)
{
    return idText(kEmotions, "tianyi::admin::TurnView", id);
}
} // namespace

TurnView::TurnView(AdminApi &api, AudioPlayer &player, QWidget *parent)
    : QWidget(parent)
    , m_api(api)
    , m_player(player)
    , m_idLabel(new QLabel(this))
    , m_id(new QLineEdit(this))
    , m_open(new QPushButton(this))
    , m_header(new QLabel(this))
    , m_transcript(new QTextBrowser(this))
    , m_sentences(new QTableWidget(0, 4, this))
    , m_waveform(new WaveformWidget(this))
    , m_play(new QPushButton(this))
    , m_playerLabel(new QLabel(this))
    , m_status(new StatusLabel(this))
{
    m_id->setValidator(new QIntValidator(1, INT_MAX, m_id));
    m_id->setMaximumWidth(120);
    m_header->setWordWrap(true);
    m_header->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_sentences->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_sentences->setSelectionMode(QAbstractItemView::SingleSelection);
    m_sentences->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_sentences->verticalHeader()->hide();
    m_sentences->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_sentences->horizontalHeader()->setSectionResizeMode(3, QHeaderView::Stretch); // the text takes the rest
    m_playerLabel->setWordWrap(true);

    auto *top = new QHBoxLayout;
    top->addWidget(m_idLabel);
    top->addWidget(m_id);
    top->addWidget(m_open);
    top->addWidget(m_header, 1);
    auto *split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_transcript);
    split->addWidget(m_sentences);
    split->addWidget(m_waveform);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 2);
    split->setStretchFactor(2, 1);
    auto *bottom = new QHBoxLayout;
    bottom->addWidget(m_play);
    bottom->addWidget(m_playerLabel, 1);
    auto *layout = new QVBoxLayout(this);
    layout->addLayout(top);
    layout->addWidget(split, 1);
    layout->addLayout(bottom);
    layout->addWidget(m_status);

    connect(m_open, &QPushButton::clicked, this, [this]() { loadTurn(m_id->text().toLongLong()); });
    connect(m_id, &QLineEdit::returnPressed, m_open, &QPushButton::click);
    connect(m_sentences, &QTableWidget::currentCellChanged, this, [this](int row) {
        if (row >= 0 && row < m_turn.sentences.size() && m_turn.sentences.at(row).index != m_selected)
            selectSentence(m_turn.sentences.at(row).index);
    });
    connect(m_play, &QPushButton::clicked, this, &TurnView::playSelected);
    connect(&m_player, &AudioPlayer::started, this, [this]() {
        m_playerMessage = [this, sentence = m_selected + 1]() { return tr("Playing sentence %1 on %2.").arg(sentence).arg(m_player.outputName()); };
        updatePlayer();
    });
    connect(&m_player, &AudioPlayer::finished, this, [this]() {
        m_playerMessage = []() { return tr("Finished playing."); };
        updatePlayer();
    });
    connect(&m_player, &AudioPlayer::failed, this, [this](const QString &reason) {
        m_playerMessage = [reason]() { return reason; };
        updatePlayer();
    });
    retranslate();
}

void TurnView::retranslate()
{
    m_idLabel->setText(tr("Turn ID:"));
    m_open->setText(tr("Open"));
    m_play->setText(tr("Play sentence"));
    m_sentences->setHorizontalHeaderLabels({tr("#"), tr("Emotion"), tr("Duration"), tr("Text")});
    if (isLoaded())
        showTurn(m_turn);
    else
        m_header->setText(tr("Open a turn from the sessions view, or enter its ID."));
    updatePlayer();
}

void TurnView::changeEvent(QEvent *event)
{
    if (event->type() == QEvent::LanguageChange)
        retranslate();
    QWidget::changeEvent(event);
}

QString TurnView::transcriptText() const
{
    return m_header->text() + QLatin1Char('\n') + m_transcript->toPlainText();
}

QString TurnView::playerText() const
{
    return m_playerLabel->text();
}

QString TurnView::statusText() const
{
    return m_status->text();
}

void TurnView::loadTurn(qint64 turnId)
{
    if (turnId <= 0)
        return;
    m_id->setText(QString::number(turnId));
    m_status->say([turnId]() { return tr("Loading turn %1…").arg(turnId); });
    QPointer<TurnView> self(this);
    m_api.turn(turnId, [self, turnId](const ApiResult &r) {
        if (!self)
            return;
        if (!r.ok()) {
            self->m_status->say([turnId, r]() { return tr("Turn %1: %2").arg(turnId).arg(AdminApi::describe(r)); });
            return;
        }
        self->m_status->clear();
        self->m_player.stop();
        self->m_audio.clear();
        self->m_selected = -1;
        self->m_waveform->clear();
        self->showTurn(TurnData::fromJson(r.json));
        if (!self->m_turn.sentences.isEmpty())
            self->selectSentence(self->m_turn.sentences.last().index); // the last thing she said
    });
}

void TurnView::showTurn(const TurnData &t)
{
    m_turn = t;
    m_header->setText(tr("Turn %1 · %2 · session %3, turn %4 · %5 · final emotion: %6 · %7")
                          .arg(t.id)
                          .arg(t.username, t.sessionId)
                          .arg(t.turn)
                          .arg(turnStatusText(t.status), t.emotion.isEmpty() ? QStringLiteral("–") : emotionText(t.emotion), t.createdAt));
    QString html = QStringLiteral("<p><b>%1</b> %2</p><p><b>%3</b> ").arg(tr("User:"), t.userText.toHtmlEscaped(), tr("Luo Tianyi:"));
    for (const SentenceData &s : t.sentences)
        html += QStringLiteral("<span style='color:#2a9d8f'>[%1]</span> %2 ").arg(emotionText(s.emotion).toHtmlEscaped(), s.text.toHtmlEscaped());
    if (t.sentences.isEmpty())
        html += t.replyText.toHtmlEscaped();
    html += QStringLiteral("</p>");
    m_transcript->setHtml(html);
    m_sentences->setRowCount(int(t.sentences.size()));
    for (int row = 0; row < t.sentences.size(); ++row) {
        const SentenceData &s = t.sentences.at(row);
        m_sentences->setItem(row, 0, new QTableWidgetItem(QString::number(s.index + 1)));
        m_sentences->setItem(row, 1, new QTableWidgetItem(emotionText(s.emotion)));
        m_sentences->setItem(row, 2, new QTableWidgetItem(tr("%1 ms").arg(s.durationMs)));
        m_sentences->setItem(row, 3, new QTableWidgetItem(s.audioUrl.isEmpty() ? tr("%1 (audio removed)").arg(s.text) : s.text));
    }
}

void TurnView::selectSentence(int index)
{
    int row = -1;
    for (int i = 0; i < m_turn.sentences.size(); ++i)
        if (m_turn.sentences.at(i).index == index)
            row = i;
    if (row < 0)
        return;
    m_selected = index;
    m_playerMessage = nullptr;
    m_sentences->setCurrentCell(row, 0);
    if (m_audio.contains(index)) {
        showAudio();
        return;
    }
    m_waveform->clear();
    const QString url = m_turn.sentences.at(row).audioUrl;
    if (url.isEmpty()) {
        updatePlayer();
        return;
    }
    const qint64 turnId = m_turn.id;
    QPointer<TurnView> self(this);
    m_api.fetch(url, [self, turnId, index](const ApiResult &r) {
        if (!self || self->m_turn.id != turnId)
            return; // another turn is shown by now
        wav::Format format;
        QByteArray pcm;
        QString error;
        if (!r.ok()) {
            self->m_status->say([index, r]() { return tr("Audio of sentence %1: %2").arg(index + 1).arg(AdminApi::describe(r)); });
        } else if (!wav::parseFile(r.body, &format, &pcm, &error) || !format.isPcm16()) {
            self->m_status->say([index, error]() { return tr("Audio of sentence %1 is not 16-bit PCM WAV: %2").arg(index + 1).arg(error); });
        } else {
            self->m_audio.insert(index, {pcm, format.sampleRate, format.channels});
            if (self->m_selected == index)
                self->showAudio();
        }
    });
}

void TurnView::showAudio()
{
    const Audio a = m_audio.value(m_selected);
    m_waveform->setPcm(a.pcm, a.sampleRate, a.channels);
    updatePlayer();
}

void TurnView::playSelected()
{
    if (!m_audio.contains(m_selected))
        return;
    const Audio a = m_audio.value(m_selected);
    m_player.play(a.pcm, a.sampleRate, a.channels);
}

void TurnView::updatePlayer()
{
    if (!m_player.isAvailable()) {
        m_play->setEnabled(false);
        m_playerLabel->setText(m_player.unavailableReason());
        return;
    }
    const bool ready = m_audio.contains(m_selected);
    m_play->setEnabled(ready);
    if (m_playerMessage)
        m_playerLabel->setText(m_playerMessage()); // worded again after a language switch (retranslate)
    else if (ready)
        m_playerLabel->setText(tr("Sentence %1: %2 ms at %3 Hz, ready to play on %4.")
                                   .arg(m_selected + 1)
                                   .arg(m_waveform->durationMs())
                                   .arg(m_audio.value(m_selected).sampleRate)
                                   .arg(m_player.outputName()));
    else
        m_playerLabel->setText(tr("Select a sentence with audio."));
}

} // namespace tianyi::admin
