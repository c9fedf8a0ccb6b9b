"""specgen: the composition root. Mounts the compiler's and the runtime's commands and holds the demo."""
