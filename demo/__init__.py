"""`python bot.py --demo`: the real bot against in-memory panels and a local Discord stand-in, driven from a prompt.

`world` builds what the bot talks to, `line` reads what a person types, `render` prints what the bot answers,
`session` runs one typed line, `script` runs a file of them, `prompt` is the interactive prompt and `run` picks
one of the two.
"""
