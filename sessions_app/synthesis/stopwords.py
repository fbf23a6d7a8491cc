"""Small English and French stop-word lists, shipped with the code (nothing is downloaded).

Words that say nothing about a theme in a delegation's answer: function words, and the words every
answer in an intergovernmental meeting uses ("country", "government", "pays"). Written without
accents, as the tokenizer compares them after folding accents.
"""

ENGLISH = frozenset("""
a about above after again against all also am an and any are aren as at be because been before being
below between both but by can cannot could did do does doing done down during each either else etc even
ever every few for from further had has have having he her here hers herself him himself his how however
i if in into is isn it its itself just least less let like made make many may me might more most much
must my myself neither no nor not now of off often on once one only or other others our ours ourselves
out over own per quite rather really same shall she should since so some such than that the their theirs
them themselves then there these they this those though through thus to too under until up upon us very
via was we well were what when where whether which while who whom whose why will with within without
would yet you your yours yourself yourselves
also already among another around based way ways new used use using within across include includes
including particular particularly well within two three first second
country countries national government governments our delegation delegations question answer
""".split())

FRENCH = frozenset("""
a afin ai aie aient ainsi alors apres as au aucun aucune aupres auquel aussi autre autres aux auxquels
avait avaient avant avec avoir ayant c ca car ce ceci cela celle celles celui cependant certain certaines
certains ces cet cette ceux chaque chez ci comme comment d dans de depuis des desquels deux dont donc du
duquel elle elles en encore entre es est et etaient etait etant ete etre eu eux fait faire fois font hors
il ils j je jusqu l la le les leur leurs lors lorsque lui m ma mais me meme memes mes moi moins mon n ne
ni nos notre nous on ont or ou par parce parmi pas pendant peu peut plus plusieurs pour pourquoi qu quand
que quel quelle quelles quels qui quoi s sa sans se selon ses si sien soi soit son sont sous sur t ta tandis
te tel telle telles tels tes toi ton tous tout toute toutes tres trop tu un une vers voici voila vos votre
vous y
cadre notamment egalement ainsi dont afin etc
pays gouvernement gouvernements national nationale nationaux delegation delegations question reponse
""".split())

ALL = ENGLISH | FRENCH
