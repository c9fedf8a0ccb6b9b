"""Throwaway PostgreSQL clusters with a Supabase stand-in, for verify, tests and demos."""
