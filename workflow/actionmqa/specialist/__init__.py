"""The specialist action model: the source of the hard and medium distractors."""
