{#- The current state of a core-banking entity (customers, accounts, contact details), kept as an
    incremental table instead of re-ranking every raw version on every read: each run reads the
    new raw batches only, keeps the newest version per key and replaces a stored row only when
    the new version is at least as new (by updated_at, then load time), so a batch that arrives
    out of order cannot roll an entity back. The result is what latest_version() over all of raw
    returns, at the cost of the day's changed rows; a downstream read is a plain table scan. -#}

{#- The newest version of each key among the raw batches this run reads. -#}
{% macro newest_new_versions(relation, key) -%}
    select distinct on ({{ key }}) *
    from {{ relation }}
    where {{ new_batches_filter(this) }}
    order by {{ key }}, updated_at desc, _loaded_at desc
{%- endmacro %}

{#- Model side: the new versions that win over what is stored (after the pre-hook below has
    deleted the stored rows they supersede, those keys have no stored row left). -#}
{% macro current_versions(relation, key) -%}
    select newest.*
    from ({{ newest_new_versions(relation, key) }}) as newest
    {% if is_incremental() %}
    where not exists (select 1 from {{ this }} as stored where stored.{{ key }} = newest.{{ key }})
    {% endif %}
{%- endmacro %}

{#- Pre-hook: delete the stored rows a new version supersedes, by probing the key's unique index
    (a hash join would read the whole table for a few changed keys). -#}
{% macro delete_superseded_versions(relation, key) -%}
{% if is_incremental() %}
{{ probe_indexes_only() }}
delete from {{ this }} as stored
using ({{ newest_new_versions(relation, key) }}) as newest
where stored.{{ key }} = newest.{{ key }}
  and (stored.updated_at, stored._loaded_at) <= (newest.updated_at, newest._loaded_at);
{{ probe_indexes_only(false) }}
{% endif %}
{%- endmacro %}
