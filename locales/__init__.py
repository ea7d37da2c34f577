"""The gettext catalogs: `<language>/LC_MESSAGES/panel_desk.po`, and the template `panel_desk.pot` (i18n.py)."""
