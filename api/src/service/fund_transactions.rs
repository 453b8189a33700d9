//! FundTransaction records.
