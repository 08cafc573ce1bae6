<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en_US">
<context>
    <name>tianyi::admin::AdminApi</name>
    <message>
        <source>Cannot reach the server: %1</source>
        <translation>Cannot reach the server: %1</translation>
    </message>
    <message>
        <source>Wrong username or password.</source>
        <translation>Wrong username or password.</translation>
    </message>
    <message>
        <source>This account is not an administrator.</source>
        <translation>This account is not an administrator.</translation>
    </message>
    <message>
        <source>This account is disabled.</source>
        <translation>This account is disabled.</translation>
    </message>
    <message>
        <source>Too many failed logins; try again later.</source>
        <translation>Too many failed logins; try again later.</translation>
    </message>
    <message>
        <source>The server no longer accepts this login.</source>
        <translation>The server no longer accepts this login.</translation>
    </message>
    <message>
        <source>Not found (it may be gone already).</source>
        <translation>Not found (it may be gone already).</translation>
    </message>
    <message>
        <source>The server answered: %1</source>
        <translation>The server answered: %1</translation>
    </message>
    <message>
        <source>not connected</source>
        <translation>not connected</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::ConnectDialog</name>
    <message>
        <source>Connect to a tianyi server</source>
        <translation>Connect to a tianyi server</translation>
    </message>
    <message>
        <source>Server:</source>
        <translation>Server:</translation>
    </message>
    <message>
        <source>Admin user:</source>
        <translation>Admin user:</translation>
    </message>
    <message>
        <source>Password:</source>
        <translation>Password:</translation>
    </message>
    <message>
        <source>Remember the password in the system keychain</source>
        <translation>Remember the password in the system keychain</translation>
    </message>
    <message>
        <source>Connect</source>
        <translation>Connect</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Cancel</translation>
    </message>
    <message>
        <source>Password not loaded: %1</source>
        <translation>Password not loaded: %1</translation>
    </message>
    <message>
        <source>The server address is not a valid http(s) URL.</source>
        <translation>The server address is not a valid http(s) URL.</translation>
    </message>
    <message>
        <source>Enter the admin username and password.</source>
        <translation>Enter the admin username and password.</translation>
    </message>
    <message>
        <source>Password not saved: %1</source>
        <translation>Password not saved: %1</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::CredentialStore</name>
    <message>
        <source>no saved password</source>
        <translation>no saved password</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::DeviceName</name>
    <message>
        <source>%1 on %2</source>
        <comment>browser on operating system</comment>
        <translation>%1 on %2</translation>
    </message>
    <message>
        <source>browser on %1</source>
        <translation>browser on %1</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::MainWindow</name>
    <message>
        <source>password not saved: %1</source>
        <translation>password not saved: %1</translation>
    </message>
    <message>
        <source>tianyi-admin — operator console</source>
        <translation>tianyi-admin — operator console</translation>
    </message>
    <message>
        <source>Sessions</source>
        <translation>Sessions</translation>
    </message>
    <message>
        <source>Queues</source>
        <translation>Queues</translation>
    </message>
    <message>
        <source>Turn</source>
        <translation>Turn</translation>
    </message>
    <message>
        <source>Users</source>
        <translation>Users</translation>
    </message>
    <message>
        <source>&amp;Server</source>
        <translation>&amp;Server</translation>
    </message>
    <message>
        <source>&amp;Connect…</source>
        <translation>&amp;Connect…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Quit</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>&amp;Language</translation>
    </message>
    <message>
        <source>System language</source>
        <translation>System language</translation>
    </message>
    <message>
        <source>Not connected.</source>
        <translation>Not connected.</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>Connecting to %1…</translation>
    </message>
    <message>
        <source>Live: %1</source>
        <translation>Live: %1</translation>
    </message>
    <message>
        <source>Connection lost (%1); reconnecting by itself…</source>
        <translation>Connection lost (%1); reconnecting by itself…</translation>
    </message>
    <message>
        <source>no answer</source>
        <translation>no answer</translation>
    </message>
    <message>
        <source>Refused by the server: %1</source>
        <translation>Refused by the server: %1</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::QtAudioPlayer</name>
    <message>
        <source>No sound device: playback is disabled.</source>
        <translation>No sound device: playback is disabled.</translation>
    </message>
    <message>
        <source>%1 cannot play %2 Hz audio.</source>
        <translation>%1 cannot play %2 Hz audio.</translation>
    </message>
    <message>
        <source>The sound device failed.</source>
        <translation>The sound device failed.</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::QueuesView</name>
    <message>
        <source>LLM requests</source>
        <translation>LLM requests</translation>
    </message>
    <message>
        <source>Speech synthesis</source>
        <translation>Speech synthesis</translation>
    </message>
    <message>
        <source>Sessions and memory outbox</source>
        <translation>Sessions and memory outbox</translation>
    </message>
    <message>
        <source>seconds ago</source>
        <translation>seconds ago</translation>
    </message>
    <message>
        <source>in flight</source>
        <translation>in flight</translation>
    </message>
    <message>
        <source>waiting</source>
        <translation>waiting</translation>
    </message>
    <message>
        <source>queued</source>
        <translation>queued</translation>
    </message>
    <message>
        <source>running</source>
        <translation>running</translation>
    </message>
    <message>
        <source>outbox backlog</source>
        <translation>outbox backlog</translation>
    </message>
    <message>
        <source>sessions</source>
        <translation>sessions</translation>
    </message>
    <message>
        <source>No samples yet: the live feed sends one every second.</source>
        <translation>No samples yet: the live feed sends one every second.</translation>
    </message>
    <message>
        <source>Now: %1; LLM %2 in flight, %3 waiting; TTS %4 queued, %5 running; outbox %6.</source>
        <translation>Now: %1; LLM %2 in flight, %3 waiting; TTS %4 queued, %5 running; outbox %6.</translation>
    </message>
    <message numerus="yes">
        <source>%n session(s)</source>
        <translation><numerusform>%n session</numerusform><numerusform>%n sessions</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n sample(s) kept (at most %1).</source>
        <translation><numerusform>%n sample kept (at most %1).</numerusform><numerusform>%n samples kept (at most %1).</numerusform></translation>
    </message>
    <message>
        <source>The built-in demo responder answers at once and never queues: this chart stays at 0. It fills when a real LLM service is configured (llm.base_url).</source>
        <translation>The built-in demo responder answers at once and never queues: this chart stays at 0. It fills when a real LLM service is configured (llm.base_url).</translation>
    </message>
    <message>
        <source>The built-in espeak-ng voice synthesizes in a moment and hardly queues: this chart stays near 0. It fills when GPT-SoVITS services are configured (tts.base_urls).</source>
        <translation>The built-in espeak-ng voice synthesizes in a moment and hardly queues: this chart stays near 0. It fills when GPT-SoVITS services are configured (tts.base_urls).</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::SessionsModel</name>
    <message>
        <source>%1 ms</source>
        <translation>%1 ms</translation>
    </message>
    <message>
        <source>idle</source>
        <translation>idle</translation>
    </message>
    <message>
        <source>thinking</source>
        <translation>thinking</translation>
    </message>
    <message>
        <source>speaking</source>
        <translation>speaking</translation>
    </message>
    <message>
        <source>completed</source>
        <translation>completed</translation>
    </message>
    <message>
        <source>interrupted</source>
        <translation>interrupted</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>failed</translation>
    </message>
    <message>
        <source>Session %1 of user #%2</source>
        <translation>Session %1 of user #%2</translation>
    </message>
    <message>
        <source>%1 (turn %2)</source>
        <translation>%1 (turn %2)</translation>
    </message>
    <message>
        <source>User</source>
        <translation>User</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>Device</translation>
    </message>
    <message>
        <source>Since</source>
        <translation>Since</translation>
    </message>
    <message>
        <source>State</source>
        <translation>State</translation>
    </message>
    <message>
        <source>Turns</source>
        <translation>Turns</translation>
    </message>
    <message>
        <source>Last TTFT</source>
        <translation>Last TTFT</translation>
    </message>
    <message>
        <source>First audio</source>
        <translation>First audio</translation>
    </message>
    <message>
        <source>Last turn</source>
        <translation>Last turn</translation>
    </message>
    <message>
        <source>Device (as the client names itself): %1</source>
        <translation>Device (as the client names itself): %1</translation>
    </message>
    <message>
        <source>User-Agent: %1</source>
        <translation>User-Agent: %1</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::SessionsView</name>
    <message>
        <source>Stop turn</source>
        <translation>Stop turn</translation>
    </message>
    <message>
        <source>Stop the running turn, as the user&apos;s own stop would</source>
        <translation>Stop the running turn, as the user&apos;s own stop would</translation>
    </message>
    <message>
        <source>Disconnect</source>
        <translation>Disconnect</translation>
    </message>
    <message>
        <source>Close the user&apos;s chat socket (close code 4005)</source>
        <translation>Close the user&apos;s chat socket (close code 4005)</translation>
    </message>
    <message>
        <source>Open last turn</source>
        <translation>Open last turn</translation>
    </message>
    <message numerus="yes">
        <source>%n session(s)</source>
        <translation><numerusform>%n session</numerusform><numerusform>%n sessions</numerusform></translation>
    </message>
    <message>
        <source>Stop failed: %1</source>
        <translation>Stop failed: %1</translation>
    </message>
    <message>
        <source>Nothing was running in session %1.</source>
        <translation>Nothing was running in session %1.</translation>
    </message>
    <message>
        <source>Stopped turn %1 of session %2.</source>
        <translation>Stopped turn %1 of session %2.</translation>
    </message>
    <message>
        <source>Disconnected session %1.</source>
        <translation>Disconnected session %1.</translation>
    </message>
    <message>
        <source>Disconnect failed: %1</source>
        <translation>Disconnect failed: %1</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::TurnView</name>
    <message>
        <source>Playing sentence %1 on %2.</source>
        <translation>Playing sentence %1 on %2.</translation>
    </message>
    <message>
        <source>Finished playing.</source>
        <translation>Finished playing.</translation>
    </message>
    <message>
        <source>Turn ID:</source>
        <translation>Turn ID:</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>Open</translation>
    </message>
    <message>
        <source>Play sentence</source>
        <translation>Play sentence</translation>
    </message>
    <message>
        <source>#</source>
        <translation>#</translation>
    </message>
    <message>
        <source>Emotion</source>
        <translation>Emotion</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>Duration</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>Text</translation>
    </message>
    <message>
        <source>Open a turn from the sessions view, or enter its ID.</source>
        <translation>Open a turn from the sessions view, or enter its ID.</translation>
    </message>
    <message>
        <source>Loading turn %1…</source>
        <translation>Loading turn %1…</translation>
    </message>
    <message>
        <source>Turn %1: %2</source>
        <translation>Turn %1: %2</translation>
    </message>
    <message>
        <source>Turn %1 · %2 · session %3, turn %4 · %5 · final emotion: %6 · %7</source>
        <translation>Turn %1 · %2 · session %3, turn %4 · %5 · final emotion: %6 · %7</translation>
    </message>
    <message>
        <source>User:</source>
        <translation>User:</translation>
    </message>
    <message>
        <source>Luo Tianyi:</source>
        <translation>Luo Tianyi:</translation>
    </message>
    <message>
        <source>%1 ms</source>
        <translation>%1 ms</translation>
    </message>
    <message>
        <source>%1 (audio removed)</source>
        <translation>%1 (audio removed)</translation>
    </message>
    <message>
        <source>Audio of sentence %1: %2</source>
        <translation>Audio of sentence %1: %2</translation>
    </message>
    <message>
        <source>Audio of sentence %1 is not 16-bit PCM WAV: %2</source>
        <translation>Audio of sentence %1 is not 16-bit PCM WAV: %2</translation>
    </message>
    <message>
        <source>Sentence %1: %2 ms at %3 Hz, ready to play on %4.</source>
        <translation>Sentence %1: %2 ms at %3 Hz, ready to play on %4.</translation>
    </message>
    <message>
        <source>Select a sentence with audio.</source>
        <translation>Select a sentence with audio.</translation>
    </message>
    <message>
        <source>happy</source>
        <translation>happy</translation>
    </message>
    <message>
        <source>angry</source>
        <translation>angry</translation>
    </message>
    <message>
        <source>sad</source>
        <translation>sad</translation>
    </message>
    <message>
        <source>surprised</source>
        <translation>surprised</translation>
    </message>
    <message>
        <source>coquettish</source>
        <translation>coquettish</translation>
    </message>
    <message>
        <source>calm</source>
        <translation>calm</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::UsersModel</name>
    <message>
        <source>administrator</source>
        <translation>administrator</translation>
    </message>
    <message>
        <source>user</source>
        <translation>user</translation>
    </message>
    <message>
        <source>disabled</source>
        <translation>disabled</translation>
    </message>
    <message>
        <source>active</source>
        <translation>active</translation>
    </message>
    <message>
        <source>ID</source>
        <translation>ID</translation>
    </message>
    <message>
        <source>Username</source>
        <translation>Username</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>Role</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>Created</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::UsersView</name>
    <message>
        <source>Refresh</source>
        <translation>Refresh</translation>
    </message>
    <message>
        <source>&lt; Previous</source>
        <translation>&lt; Previous</translation>
    </message>
    <message>
        <source>Next &gt;</source>
        <translation>Next &gt;</translation>
    </message>
    <message>
        <source>Disable</source>
        <translation>Disable</translation>
    </message>
    <message>
        <source>Refuse logins, revoke the user&apos;s refresh tokens and close their chats</source>
        <translation>Refuse logins, revoke the user&apos;s refresh tokens and close their chats</translation>
    </message>
    <message>
        <source>Enable</source>
        <translation>Enable</translation>
    </message>
    <message>
        <source>Users: %1</source>
        <translation>Users: %1</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1: %2</translation>
    </message>
    <message>
        <source>%1 is disabled: logins are refused and their chats were closed.</source>
        <translation>%1 is disabled: logins are refused and their chats were closed.</translation>
    </message>
    <message>
        <source>%1 is enabled again.</source>
        <translation>%1 is enabled again.</translation>
    </message>
    <message numerus="yes">
        <source>%n user(s) in all</source>
        <translation>
            <numerusform>%n user in all</numerusform>
            <numerusform>%n users in all</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>tianyi::admin::WaveformWidget</name>
    <message>
        <source>No audio</source>
        <translation>No audio</translation>
    </message>
</context>
</TS>
