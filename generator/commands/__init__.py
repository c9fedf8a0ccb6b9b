"""The compiler's use cases, one module each: they read and write the project and return what happened;
generator/cli.py parses arguments, prints, and maps failures (specgen.errors) to exit codes."""
