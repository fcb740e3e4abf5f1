-- Payment instructions qrpay issued, one per payment: what the payer was asked to transfer,
-- so the chairman can match a line of the bank statement to its payment before settling it.
CREATE TABLE qrpay_instructions (
    payment_hash TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    username TEXT NOT NULL,
    sum_kopecks INTEGER NOT NULL,
    purpose TEXT NOT NULL,
    issued_at INTEGER NOT NULL
) STRICT;
