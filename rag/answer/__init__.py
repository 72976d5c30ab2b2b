"""Answer: clean the question, choose quotations or abstain, compose the answer."""
