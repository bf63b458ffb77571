"""Function tools in the built-in model: which tools a request offers and how it must use
them (`plan`), whether its question asks for one (`match`), the arguments its words give
(`slots`), and the decision and the answer from a tool's output (`decide`)."""
