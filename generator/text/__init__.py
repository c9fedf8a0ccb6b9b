"""Text helpers the emitters and the IR snapshot share: JSON documents, Jinja2 templating, TypeScript formatting."""
