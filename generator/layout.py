"""Where things live in a project, relative to its root (the spec) or to generated/ (the rest). A leaf
module, so the command line can name them without importing the compiler."""
ENTITIES_PATH = "spec/schema/entities.yaml"
ROLES_PATH = "spec/auth/roles.yaml"
GENERATED = "generated"
MANIFEST = "manifest.json"
MIGRATIONS = "supabase/migrations"
SNAPSHOTS = "supabase/snapshots"
LOCK = "supabase/migrations.lock.json"
TEST_DATABASE_URL_ENV = "SPECGEN_TEST_DATABASE_URL"  # a server for throwaway databases (tests, verify)
