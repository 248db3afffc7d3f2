"""EPIC-KITCHENS-100 annotations: schema, timestamps, validated tables and label maps."""
