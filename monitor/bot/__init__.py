"""The Telegram bot: cards for new candidates, the editor's decisions, commands.

`app.running_bot` runs it inside the daemon's event loop; `outbox.Outbox.notify` is the
pipeline's notifier when TELEGRAM_BOT_TOKEN is set. Imports run one way: `context` (the
shared state) ← `cards` ← `outbox` ← `app`, and `handlers` ← `app`.
"""
