"""Gateways to the telephony side: one small interface, several implementations."""

from __future__ import annotations
