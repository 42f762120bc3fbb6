create schema if not exists ml;

-- Every trained model, versioned per name: what it read, the window it learnt from, how it did on
-- a later period, a hash of its training data, and the model itself (joblib bytes).
create table if not exists ml.model_registry (
    model_name      text not null,
    version         integer not null,
    created_at      timestamptz not null default now(),
    trained_as_of   date not null,
    training_from   date not null,
    training_to     date not null,
    validation_date date not null,
    horizon_days    integer not null,
    features        jsonb not null,
    metrics         jsonb not null,
    data_hash       text not null,
    training_rows   bigint not null,
    sklearn_version text not null,
    model           bytea not null,
    primary key (model_name, version)
);

-- One row per customer and date. score_source says where the figures came from: 'model' (the
-- registry versions named) or 'rules' (today's value rules, when no model could be trained yet).
create table if not exists ml.customer_scores (
    as_of_date                    date not null,
    customer_id                   text not null,
    score_source                  text not null check (score_source in ('model', 'rules')),
    churn_probability             double precision,
    churn_reasons_en              text,
    churn_reasons_zh              text,
    current_profit_90d_cny        double precision,
    predicted_profit_90d_cny      double precision,
    predicted_annual_uplift_cny   double precision,
    value_reasons_en              text,
    value_reasons_zh              text,
    next_best_product             text,
    next_best_product_probability double precision,
    churn_model_version           integer,
    value_model_version           integer,
    product_model_version         integer,
    primary key (as_of_date, customer_id)
);

-- What each day's scoring did: the source, the versions, drift, warnings a person should read.
create table if not exists ml.scoring_runs (
    as_of_date   date primary key,
    score_source text not null,
    customers    bigint not null,
    models       jsonb not null,
    drift        jsonb not null,
    warnings     jsonb not null,
    scored_at    timestamptz not null default now()
);
