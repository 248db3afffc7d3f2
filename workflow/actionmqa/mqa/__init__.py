"""EPIC-KITCHENS-100-MQA: the frozen multiple-choice benchmark built from EK100 segments."""
