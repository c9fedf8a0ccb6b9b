"""Jinja2 templates for specgen's text targets, shipped as package data (see README.md here)."""
