"""Learned predictions: who may leave (churn), what a customer will be worth next period (value),
which product each customer is likely to open next (next best product). Trained on the bank's own
history in ``marts.mart_customer_features``, validated on a later period, scored daily."""
