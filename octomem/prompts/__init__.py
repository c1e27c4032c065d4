"""Prompts and response models, one module per agent, plus extraction and reconcile.

Every agent module has `INSTRUCTIONS` (its part of the prompt, overridable in config
under `llm.prompts.<agent>`), a response model and `to_records(output, turns, ctx)`; the
agent bundles them as its `prompt` (`octomem.agents.base.AgentPrompt`).
"""
