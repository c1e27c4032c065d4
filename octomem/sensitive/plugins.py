"""The regexes of detect-secrets' plugins that recognise a secret by its own shape,
imported at first use (the import pulls in `requests`) and without detect-secrets'
side effect on the application: its import calls `logging.captureWarnings(True)`, which
sends every warning of the process to a logger with no handler, so they vanish.

Left out: the keyword, Cloudant, IBM and SoftLayer plugins (cues in source code, not in
prose: see cues.py), the public-IP plugin (not a secret) and the high-entropy plugins
(quoted strings only; keys.py's `_random_token` is the prose form).
"""

from __future__ import annotations

import functools
import importlib
import logging
import warnings

_PLUGINS = {
    "artifactory": "ArtifactoryDetector",
    "aws": "AWSKeyDetector",
    "azure_storage_key": "AzureStorageKeyDetector",
    "discord": "DiscordBotTokenDetector",
    "github_token": "GitHubTokenDetector",
    "gitlab_token": "GitLabTokenDetector",
    "mailchimp": "MailchimpDetector",
    "openai": "OpenAIDetector",
    "pypi_token": "PypiTokenDetector",
    "sendgrid": "SendGridDetector",
    "slack": "SlackDetector",
    "square_oauth": "SquareOAuthDetector",
    "stripe": "StripeDetector",
    "telegram_token": "TelegramBotTokenDetector",
    "twilio": "TwilioKeyDetector",
}


@functools.cache
def plugin_patterns() -> tuple[str, ...]:
    """The plugins' `denylist` regexes, as pattern strings."""
    before = warnings.showwarning
    try:
        plugins = [
            getattr(importlib.import_module(f"detect_secrets.plugins.{module}"), name)
            for module, name in _PLUGINS.items()
        ]
    finally:
        if warnings.showwarning is not before:  # captured by the import: as it was
            logging.captureWarnings(False)
    return tuple(
        getattr(r, "pattern", r) for plugin in plugins for r in getattr(plugin(), "denylist", ())
    )
