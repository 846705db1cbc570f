"""Credentials: macaroon handling and what lnopt keeps of them."""
