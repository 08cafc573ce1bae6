<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>tianyi::admin::AdminApi</name>
    <message>
        <source>Cannot reach the server: %1</source>
        <translation>无法连接服务器：%1</translation>
    </message>
    <message>
        <source>Wrong username or password.</source>
        <translation>用户名或密码错误。</translation>
    </message>
    <message>
        <source>This account is not an administrator.</source>
        <translation>该账号不是管理员。</translation>
    </message>
    <message>
        <source>This account is disabled.</source>
        <translation>该账号已被停用。</translation>
    </message>
    <message>
        <source>Too many failed logins; try again later.</source>
        <translation>登录失败次数过多，请稍后再试。</translation>
    </message>
    <message>
        <source>The server no longer accepts this login.</source>
        <translation>服务器不再接受此次登录。</translation>
    </message>
    <message>
        <source>Not found (it may be gone already).</source>
        <translation>未找到（可能已经不存在）。</translation>
    </message>
    <message>
        <source>The server answered: %1</source>
        <translation>服务器回应：%1</translation>
    </message>
    <message>
        <source>not connected</source>
        <translation>未连接</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::ConnectDialog</name>
    <message>
        <source>Connect to a tianyi server</source>
        <translation>连接 tianyi 服务器</translation>
    </message>
    <message>
        <source>Server:</source>
        <translation>服务器：</translation>
    </message>
    <message>
        <source>Admin user:</source>
        <translation>管理员用户名：</translation>
    </message>
    <message>
        <source>Password:</source>
        <translation>密码：</translation>
    </message>
    <message>
        <source>Remember the password in the system keychain</source>
        <translation>在系统钥匙串中记住密码</translation>
    </message>
    <message>
        <source>Connect</source>
        <translation>连接</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Password not loaded: %1</source>
        <translation>未能读取密码：%1</translation>
    </message>
    <message>
        <source>The server address is not a valid http(s) URL.</source>
        <translation>服务器地址不是有效的 http(s) URL。</translation>
    </message>
    <message>
        <source>Enter the admin username and password.</source>
        <translation>请输入管理员用户名和密码。</translation>
    </message>
    <message>
        <source>Password not saved: %1</source>
        <translation>密码未保存：%1</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::CredentialStore</name>
    <message>
        <source>no saved password</source>
        <translation>没有已保存的密码</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::DeviceName</name>
    <message>
        <source>%1 on %2</source>
        <comment>browser on operating system</comment>
        <translation>%2 上的 %1</translation>
    </message>
    <message>
        <source>browser on %1</source>
        <translation>%1 上的浏览器</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::MainWindow</name>
    <message>
        <source>password not saved: %1</source>
        <translation>密码未保存：%1</translation>
    </message>
    <message>
        <source>tianyi-admin — operator console</source>
        <translation>tianyi-admin — 运维控制台</translation>
    </message>
    <message>
        <source>Sessions</source>
        <translation>会话</translation>
    </message>
    <message>
        <source>Queues</source>
        <translation>队列</translation>
    </message>
    <message>
        <source>Turn</source>
        <translation>对话轮次</translation>
    </message>
    <message>
        <source>Users</source>
        <translation>用户</translation>
    </message>
    <message>
        <source>&amp;Server</source>
        <translation>服务器(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Connect…</source>
        <translation>连接(&amp;C)…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>语言(&amp;L)</translation>
    </message>
    <message>
        <source>System language</source>
        <translation>跟随系统语言</translation>
    </message>
    <message>
        <source>Not connected.</source>
        <translation>未连接。</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>正在连接 %1…</translation>
    </message>
    <message>
        <source>Live: %1</source>
        <translation>实时：%1</translation>
    </message>
    <message>
        <source>Connection lost (%1); reconnecting by itself…</source>
        <translation>连接已断开（%1），正在自动重连…</translation>
    </message>
    <message>
        <source>no answer</source>
        <translation>无响应</translation>
    </message>
    <message>
        <source>Refused by the server: %1</source>
        <translation>被服务器拒绝：%1</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::QtAudioPlayer</name>
    <message>
        <source>No sound device: playback is disabled.</source>
        <translation>没有音频输出设备：已禁用播放。</translation>
    </message>
    <message>
        <source>%1 cannot play %2 Hz audio.</source>
        <translation>%1 无法播放 %2 Hz 的音频。</translation>
    </message>
    <message>
        <source>The sound device failed.</source>
        <translation>音频设备出错。</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::QueuesView</name>
    <message>
        <source>LLM requests</source>
        <translation>LLM 请求</translation>
    </message>
    <message>
        <source>Speech synthesis</source>
        <translation>语音合成</translation>
    </message>
    <message>
        <source>Sessions and memory outbox</source>
        <translation>会话与记忆发件箱</translation>
    </message>
    <message>
        <source>seconds ago</source>
        <translation>秒前</translation>
    </message>
    <message>
        <source>in flight</source>
        <translation>进行中</translation>
    </message>
    <message>
        <source>waiting</source>
        <translation>等待中</translation>
    </message>
    <message>
        <source>queued</source>
        <translation>排队中</translation>
    </message>
    <message>
        <source>running</source>
        <translation>运行中</translation>
    </message>
    <message>
        <source>outbox backlog</source>
        <translation>发件箱积压</translation>
    </message>
    <message>
        <source>sessions</source>
        <translation>会话数</translation>
    </message>
    <message>
        <source>No samples yet: the live feed sends one every second.</source>
        <translation>还没有采样：实时推送每秒发送一次。</translation>
    </message>
    <message>
        <source>Now: %1; LLM %2 in flight, %3 waiting; TTS %4 queued, %5 running; outbox %6.</source>
        <translation>当前：%1；LLM 进行中 %2，等待 %3；TTS 排队 %4，运行 %5；发件箱 %6。</translation>
    </message>
    <message numerus="yes">
        <source>%n session(s)</source>
        <translation><numerusform>%n 个会话</numerusform></translation>
    </message>
    <message numerus="yes">
        <source>%n sample(s) kept (at most %1).</source>
        <translation><numerusform>已保留 %n 个采样（最多 %1 个）。</numerusform></translation>
    </message>
    <message>
        <source>The built-in demo responder answers at once and never queues: this chart stays at 0. It fills when a real LLM service is configured (llm.base_url).</source>
        <translation>内置的演示应答器即时作答，从不排队：此图保持为 0。配置真实的 LLM 服务（llm.base_url）后才会有曲线。</translation>
    </message>
    <message>
        <source>The built-in espeak-ng voice synthesizes in a moment and hardly queues: this chart stays near 0. It fills when GPT-SoVITS services are configured (tts.base_urls).</source>
        <translation>内置的 espeak-ng 语音瞬间合成，几乎不排队：此图接近 0。配置 GPT-SoVITS 服务（tts.base_urls）后才会有曲线。</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::SessionsModel</name>
    <message>
        <source>%1 ms</source>
        <translation>%1 毫秒</translation>
    </message>
    <message>
        <source>idle</source>
        <translation>空闲</translation>
    </message>
    <message>
        <source>thinking</source>
        <translation>思考中</translation>
    </message>
    <message>
        <source>speaking</source>
        <translation>说话中</translation>
    </message>
    <message>
        <source>completed</source>
        <translation>已完成</translation>
    </message>
    <message>
        <source>interrupted</source>
        <translation>已打断</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>Session %1 of user #%2</source>
        <translation>用户 #%2 的会话 %1</translation>
    </message>
    <message>
        <source>%1 (turn %2)</source>
        <translation>%1（第 %2 轮）</translation>
    </message>
    <message>
        <source>User</source>
        <translation>用户</translation>
    </message>
    <message>
        <source>Device</source>
        <translation>设备</translation>
    </message>
    <message>
        <source>Since</source>
        <translation>开始于</translation>
    </message>
    <message>
        <source>State</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Turns</source>
        <translation>轮数</translation>
    </message>
    <message>
        <source>Last TTFT</source>
        <translation>最近首字延迟</translation>
    </message>
    <message>
        <source>First audio</source>
        <translation>首段音频</translation>
    </message>
    <message>
        <source>Last turn</source>
        <translation>最近一轮</translation>
    </message>
    <message>
        <source>Device (as the client names itself): %1</source>
        <translation>设备（客户端自报）：%1</translation>
    </message>
    <message>
        <source>User-Agent: %1</source>
        <translation>User-Agent：%1</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::SessionsView</name>
    <message>
        <source>Stop turn</source>
        <translation>停止本轮</translation>
    </message>
    <message>
        <source>Stop the running turn, as the user&apos;s own stop would</source>
        <translation>停止正在进行的一轮，效果与用户自己停止相同</translation>
    </message>
    <message>
        <source>Disconnect</source>
        <translation>断开连接</translation>
    </message>
    <message>
        <source>Close the user&apos;s chat socket (close code 4005)</source>
        <translation>关闭该用户的聊天连接（关闭码 4005）</translation>
    </message>
    <message>
        <source>Open last turn</source>
        <translation>查看最近一轮</translation>
    </message>
    <message numerus="yes">
        <source>%n session(s)</source>
        <translation><numerusform>%n 个会话</numerusform></translation>
    </message>
    <message>
        <source>Stop failed: %1</source>
        <translation>停止失败：%1</translation>
    </message>
    <message>
        <source>Nothing was running in session %1.</source>
        <translation>会话 %1 中没有正在进行的对话。</translation>
    </message>
    <message>
        <source>Stopped turn %1 of session %2.</source>
        <translation>已停止会话 %2 的第 %1 轮。</translation>
    </message>
    <message>
        <source>Disconnected session %1.</source>
        <translation>已断开会话 %1。</translation>
    </message>
    <message>
        <source>Disconnect failed: %1</source>
        <translation>断开失败：%1</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::TurnView</name>
    <message>
        <source>Playing sentence %1 on %2.</source>
        <translation>正在 %2 上播放第 %1 句。</translation>
    </message>
    <message>
        <source>Finished playing.</source>
        <translation>播放完毕。</translation>
    </message>
    <message>
        <source>Turn ID:</source>
        <translation>轮次 ID：</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <source>Play sentence</source>
        <translation>播放该句</translation>
    </message>
    <message>
        <source>#</source>
        <translation>序号</translation>
    </message>
    <message>
        <source>Emotion</source>
        <translation>情绪</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>时长</translation>
    </message>
    <message>
        <source>Text</source>
        <translation>文本</translation>
    </message>
    <message>
        <source>Open a turn from the sessions view, or enter its ID.</source>
        <translation>请从会话页打开一轮对话，或输入其 ID。</translation>
    </message>
    <message>
        <source>Loading turn %1…</source>
        <translation>正在加载第 %1 轮…</translation>
    </message>
    <message>
        <source>Turn %1: %2</source>
        <translation>轮次 %1：%2</translation>
    </message>
    <message>
        <source>Turn %1 · %2 · session %3, turn %4 · %5 · final emotion: %6 · %7</source>
        <translation>轮次 %1 · %2 · 会话 %3 第 %4 轮 · %5 · 最终情绪：%6 · %7</translation>
    </message>
    <message>
        <source>User:</source>
        <translation>用户：</translation>
    </message>
    <message>
        <source>Luo Tianyi:</source>
        <translation>洛天依：</translation>
    </message>
    <message>
        <source>%1 ms</source>
        <translation>%1 毫秒</translation>
    </message>
    <message>
        <source>%1 (audio removed)</source>
        <translation>%1（音频已清除）</translation>
    </message>
    <message>
        <source>Audio of sentence %1: %2</source>
        <translation>第 %1 句的音频：%2</translation>
    </message>
    <message>
        <source>Audio of sentence %1 is not 16-bit PCM WAV: %2</source>
        <translation>第 %1 句的音频不是 16 位 PCM WAV：%2</translation>
    </message>
    <message>
        <source>Sentence %1: %2 ms at %3 Hz, ready to play on %4.</source>
        <translation>第 %1 句：%2 毫秒，%3 Hz，可在 %4 上播放。</translation>
    </message>
    <message>
        <source>Select a sentence with audio.</source>
        <translation>请选择一句有音频的句子。</translation>
    </message>
    <message>
        <source>happy</source>
        <translation>开心</translation>
    </message>
    <message>
        <source>angry</source>
        <translation>生气</translation>
    </message>
    <message>
        <source>sad</source>
        <translation>悲伤</translation>
    </message>
    <message>
        <source>surprised</source>
        <translation>惊讶</translation>
    </message>
    <message>
        <source>coquettish</source>
        <translation>撒娇</translation>
    </message>
    <message>
        <source>calm</source>
        <translation>平静</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::UsersModel</name>
    <message>
        <source>administrator</source>
        <translation>管理员</translation>
    </message>
    <message>
        <source>user</source>
        <translation>普通用户</translation>
    </message>
    <message>
        <source>disabled</source>
        <translation>已停用</translation>
    </message>
    <message>
        <source>active</source>
        <translation>正常</translation>
    </message>
    <message>
        <source>ID</source>
        <translation>ID</translation>
    </message>
    <message>
        <source>Username</source>
        <translation>用户名</translation>
    </message>
    <message>
        <source>Role</source>
        <translation>角色</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>创建时间</translation>
    </message>
</context>
<context>
    <name>tianyi::admin::UsersView</name>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>&lt; Previous</source>
        <translation>&lt; 上一页</translation>
    </message>
    <message>
        <source>Next &gt;</source>
        <translation>下一页 &gt;</translation>
    </message>
    <message>
        <source>Disable</source>
        <translation>停用</translation>
    </message>
    <message>
        <source>Refuse logins, revoke the user&apos;s refresh tokens and close their chats</source>
        <translation>拒绝登录，吊销该用户的刷新令牌并关闭其聊天</translation>
    </message>
    <message>
        <source>Enable</source>
        <translation>启用</translation>
    </message>
    <message>
        <source>Users: %1</source>
        <translation>用户：%1</translation>
    </message>
    <message>
        <source>%1: %2</source>
        <translation>%1：%2</translation>
    </message>
    <message>
        <source>%1 is disabled: logins are refused and their chats were closed.</source>
        <translation>%1 已停用：登录将被拒绝，其聊天已关闭。</translation>
    </message>
    <message>
        <source>%1 is enabled again.</source>
        <translation>%1 已重新启用。</translation>
    </message>
    <message numerus="yes">
        <source>%n user(s) in all</source>
        <translation>
            <numerusform>共 %n 个用户</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>tianyi::admin::WaveformWidget</name>
    <message>
        <source>No audio</source>
        <translation>无音频</translation>
    </message>
</context>
</TS>
