{#- The day values of a customer's balances: `balances` (a relation or subquery of
    fct_daily_balances rows) valued per customer and day with today's account records, products
    and economics; erased customers left out. One piece for int_customer_days' own days and for
    the late accounts its corrections add (customer_day_corrections.sql). -#}
{% macro customer_balance_values(balances) -%}
select
    customer_id,
    balance_date,
    deposit_day_cny + wealth_day_cny as aum_day_cny,
    deposit_day_cny,
    wealth_day_cny,
    loan_day_cny,
    annual_interest_margin_cny,
    annual_wealth_fee_cny,
    annual_account_cost_cny
from (
    -- FILTER, not sum(case ... else 0): each account-day feeds only the sums of its side
    -- (three numeric additions instead of seven), and AUM is added once per customer. At
    -- 200,000 customers the day's hash table took 315 MB instead of 512 MB, the model
    -- 8.0-8.7 s instead of 11.1-11.2 s (docs/BENCHMARKS.md, session 11).
    select
        customer_id,
        balance_date,
        coalesce(sum(balance_cny) filter (where balance_side = 'deposit'), 0) as deposit_day_cny,
        coalesce(sum(balance_cny) filter (where balance_side = 'wealth'), 0) as wealth_day_cny,
        coalesce(sum(balance_cny) filter (where balance_side = 'loan'), 0) as loan_day_cny,
        coalesce(sum(annual_margin_cny) filter (where balance_side in ('deposit', 'loan')), 0)
            as annual_interest_margin_cny,
        coalesce(sum(annual_margin_cny) filter (where balance_side = 'wealth'), 0) as annual_wealth_fee_cny,
        sum(annual_account_cost_cny) as annual_account_cost_cny
    from (
        select
            accounts.customer_id,
            balances.balance_date,
            economics.balance_side,
            balances.balance_cny,
            -- Margin against the funds-transfer-pricing rate, as a yearly figure for the day's
            -- balance: deposits earn FTP minus what the bank pays, loans what the customer pays
            -- minus FTP, wealth a fee. Annual figures are summed and divided once by the days
            -- observed downstream: summing daily fractions first would truncate half cents.
            case economics.balance_side
                when 'deposit' then balances.balance_cny * (economics.ftp_rate - products.customer_rate)
                when 'loan' then balances.balance_cny * (products.customer_rate - economics.ftp_rate)
                when 'wealth' then balances.balance_cny * economics.wealth_fee_rate
            end as annual_margin_cny,
            economics.annual_account_cost_cny
        from {{ balances }} as balances
        inner join {{ ref('stg_corebank__accounts') }} as accounts on balances.account_id = accounts.account_id
        inner join {{ ref('stg_corebank__products') }} as products on accounts.product_code = products.product_code
        inner join {{ ref('product_economics') }} as economics on products.product_type = economics.product_type
        -- A customer whose record has not arrived yet is valued all the same: the marts start
        -- from known customers, and their days are ready when the record comes.
        where not exists (
            select 1 from {{ ref('stg_corebank__customers') }} as customers
            where customers.customer_id = accounts.customer_id and customers.is_erased
        )
    ) as account_days
    group by customer_id, balance_date
) as sums
{%- endmacro %}


{#- What int_customer_balance_day holds: the build date it valued and the dbt invocation that
    built it, as its table comment. int_customer_days reads the table only when the stamp is its
    own invocation's for the same date: the same run, so the same balances and account records. -#}
{% macro customer_balance_day_stamp() -%}
dbt invocation {{ invocation_id }}, balance_date {{ as_of_date_text() }}
{%- endmacro %}


{#- Whether int_customer_balance_day holds the build date's values of this dbt invocation. -#}
{% macro customer_balance_day_is_current() -%}
{%- if not execute -%}{{ return(false) }}{%- endif -%}
{%- set day = ref('int_customer_balance_day') -%}
{{ return(table_comment(day) == customer_balance_day_stamp()) }}
{%- endmacro %}

