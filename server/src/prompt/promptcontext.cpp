#include "prompt/promptcontext.h"

#include <algorithm>

namespace tianyi {

void PromptContext::foldSummary(const UserSummary &rolling)
{
    summary = rolling.text;
    recentTurns.erase(std::remove_if(recentTurns.begin(), recentTurns.end(),
                                     [&](const StoredTurn &t) { return t.id <= rolling.lastTurnId; }),
                      recentTurns.end());
}

} // namespace tianyi
