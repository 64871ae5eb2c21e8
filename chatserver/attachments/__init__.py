"""Attachments: files in conversations (issue #12): storage, image preparation, uploads."""
