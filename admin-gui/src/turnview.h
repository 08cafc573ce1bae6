#pragma once
// One stored turn: the user's text, the reply sentence by sentence with its emotion, the waveform
// of the selected sentence (decoded from the sentence WAV the server keeps) and its playback.

#include "turndata.h"

#include <QHash>
#include <QWidget>
#include <functional>

class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;
class QTextBrowser;

namespace tianyi::admin {

class StatusLabel;

class AdminApi;
class AudioPlayer;
class WaveformWidget;

class TurnView : public QWidget
{
    Q_OBJECT
public:
    TurnView(AdminApi &api, AudioPlayer &player, QWidget *parent = nullptr);

    void loadTurn(qint64 turnId);
    // Selects a sentence; its audio is fetched (once per turn) and drawn.
    void selectSentence(int index);
    // Plays the selected sentence (after its audio arrived).
    void playSelected();

    const TurnData &turn() const { return m_turn; }
    bool isLoaded() const { return m_turn.id > 0; }
    int selectedSentence() const { return m_selected; }
    bool hasAudio(int index) const { return m_audio.contains(index); }
    WaveformWidget *waveform() const { return m_waveform; }
    QPushButton *playButton() const { return m_play; }
    QTableWidget *sentenceTable() const { return m_sentences; }
    QString transcriptText() const;
    QString playerText() const;
    QString statusText() const;

protected:
    void changeEvent(QEvent *event) override;

private:
    struct Audio {
        QByteArray pcm;
        int sampleRate = 0;
        int channels = 1;
    };
    void showTurn(const TurnData &turn);
    void showAudio();
    void updatePlayer();
    void retranslate();

    AdminApi &m_api;
    AudioPlayer &m_player;
    TurnData m_turn;
    QHash<int, Audio> m_audio;   // decoded sentences of the shown turn only (cleared per turn)
    int m_selected = -1;
    std::function<QString()> m_playerMessage; // playing / finished / failed, in the current language
    QLabel *m_idLabel;
    QLineEdit *m_id;
    QPushButton *m_open;
    QLabel *m_header;
    QTextBrowser *m_transcript;
    QTableWidget *m_sentences;
    WaveformWidget *m_waveform;
    QPushButton *m_play;
    QLabel *m_playerLabel;
    StatusLabel *m_status;
};

} // namespace tianyi::admin
