"""Pieces every cog shares: role checks, the error-to-reply mapping and safe text helpers."""
