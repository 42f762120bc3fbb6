-- The core-banking source system, as the synthetic bank simulates it.
-- Its own database: the warehouse reads it only through python_tasks.ingest.
-- Every row carries updated_at, set when the row was created or last changed in the bank.
drop schema if exists core cascade;
drop schema if exists synthetic_truth cascade;
create schema core;

create table core.products (
    product_code     text primary key,
    product_name     text not null,
    product_type     text not null check (product_type in
                        ('current', 'term_deposit', 'wealth', 'mortgage', 'consumer_loan', 'credit_card')),
    customer_rate    numeric(8, 5) not null,      -- annual rate paid on deposits / charged on loans
    monthly_fee_cny  numeric(12, 2) not null default 0,
    updated_at       timestamptz not null
);

create table core.customers (
    customer_id      text primary key,            -- 'C' + 8 digits
    full_name        text not null,               -- zh_CN
    gender           char(1) not null check (gender in ('M', 'F')),
    birth_date       date not null,
    resident_id      char(18) not null,           -- GB 11643 with a valid check digit; one person may hold several customer_ids
    city             text not null,
    occupation       text,
    branch_code      text not null,
    onboarded_on     date not null,
    status           text not null check (status in ('active', 'closed')),
    is_deleted       boolean not null default false,  -- tombstone: erasure request, personal data must go
    updated_at       timestamptz not null
);

create table core.contact_details (
    customer_id        text primary key,
    mobile             text not null,             -- 11-digit mainland mobile
    email              text,
    address            text,
    preferred_channel  text not null check (preferred_channel in ('sms', 'phone', 'email', 'app')),
    do_not_contact     boolean not null default false,
    updated_at         timestamptz not null
);

create table core.accounts (
    account_id    text primary key,               -- 'A' + 10 digits
    customer_id   text not null,
    product_code  text not null,
    opened_on     date not null,
    closed_on     date,
    status        text not null check (status in ('open', 'closed')),
    updated_at    timestamptz not null
);

-- End-of-day balance per account and day. Deposits/wealth: money held. Loans/cards: amount owed (positive).
create table core.daily_balances (
    account_id    text not null,
    balance_date  date not null,
    balance_cny   numeric(16, 2) not null,
    updated_at    timestamptz not null,
    primary key (account_id, balance_date)
);

create table core.transactions (
    txn_id        text primary key,               -- 'T' + 12 digits
    account_id    text not null,
    customer_id   text not null,
    txn_ts        timestamptz not null,           -- when it happened (Asia/Shanghai business day)
    amount_cny    numeric(14, 2) not null,        -- positive = money in, negative = money out
    txn_type      text not null check (txn_type in
                    ('salary', 'deposit', 'withdrawal', 'transfer_in', 'transfer_out', 'payment', 'fee', 'loan_repayment')),
    channel       text not null check (channel in ('branch', 'atm', 'mobile', 'online', 'pos')),
    fee_cny       numeric(10, 2) not null default 0,
    updated_at    timestamptz not null            -- when the bank recorded it (late arrivals: days after txn_ts)
);

create table core.loans (
    loan_id        text primary key,
    account_id     text not null,
    customer_id    text not null,
    principal_cny  numeric(16, 2) not null,
    annual_rate    numeric(8, 5) not null,
    start_date     date not null,
    maturity_date  date not null,
    status         text not null check (status in ('performing', 'overdue', 'closed')),
    updated_at     timestamptz not null
);

create table core.cards (
    card_id           text primary key,
    account_id        text not null,
    customer_id       text not null,
    card_type         text not null check (card_type in ('debit', 'credit')),
    credit_limit_cny  numeric(14, 2),
    issued_on         date not null,
    status            text not null check (status in ('active', 'blocked', 'closed')),
    updated_at        timestamptz not null
);

-- The latent truth the generator planted. Tests and backtests read it; the pipeline never does.
create schema synthetic_truth;

create table synthetic_truth.customer_truth (
    customer_id          text primary key,
    person_key           text not null,           -- same person behind several customer_ids
    persona              text not null,
    churn_propensity     double precision not null,  -- 0..1
    will_churn           boolean not null,        -- leaves within 90 days after end_date (future leaver)
    leaves_on            date,                    -- the day the customer leaves (past or future), null if not within the horizon
    churn_warning        boolean not null,        -- a leaver whose behaviour warned before leaving (false: left without warning)
    growth_potential     double precision not null,  -- expected multiple of today's value in a year
    latent_wealth_cny    double precision not null
);

create table synthetic_truth.generation (
    seed          integer not null,
    customers     integer not null,
    days          integer not null,
    start_date    date not null,
    end_date      date not null,
    generated_at  timestamptz not null default now()
);
