"""Campaign lists for marketing: who, built in Postgres; files, written only after the DQ gate."""
